"""Session lifecycle as real chargers get it wrong (issue 14, points 1 and 2), on both OCPP versions.

- A completed session does not move: readings timed after its end (a 2.0.1 `Updated` a few milliseconds after
  `Ended`, 1.6 MeterValues after the StopTransaction) are kept as meter values with a warning on the session,
  and change neither its energy nor its end time nor its status.
- Sessions the charger never ends are closed by the CSMS with a recorded reason when the evidence says they are
  over: the connector reports `Available`, the station boots again, a new transaction starts on the same
  connector, or nothing was heard of the transaction for a configured time. They are priced from the last
  register reading, with the close named in the session and in its price's warnings, and a late stop from the
  charger corrects them and has them priced again.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from csms_e2e import ago, charger, iso, poll, quote, run, started_runner, unique
from test_webhooks import Receiver

PASSWORD = "field-sessions-pass-1"
TAG = "TAG-FIELD"
VERSIONS = ["1.6", "2.0.1"]
IDLE_SECONDS = 8


@pytest.fixture(scope="module")
def runner(csms_bin, e2e_tmp):
    # Open sessions without any message for IDLE_SECONDS are closed by a sweep every second.
    with started_runner(csms_bin, e2e_tmp, "field-sessions",
                        extra_env={"CSMS_SESSION_IDLE_SECONDS": str(IDLE_SECONDS), "CSMS_SESSION_SWEEP_SECONDS": "1",
                                   "CSMS_SPOT_FETCH": "off"}) as r:
        r.create_token(TAG)
        yield r


@pytest.fixture(scope="module")
def tariff(runner) -> dict:
    return runner.api_ok("POST", "/tariffs", {
        "name": "Flat 2 per kWh",
        "elements": [{"components": [{"type": "energy", "price": {"kind": "fixed", "perKwh": "2.00"}}]}],
    }, status=201)


@pytest.fixture
def station(runner, tariff) -> str:
    sid = runner.create_station(unique("FIELD"), password=PASSWORD)["id"]
    runner.api_ok("POST", "/tariff-assignments",
                  {"tariffId": tariff["id"], "target": {"kind": "station", "id": sid}}, status=201)
    return sid


def energy16(wh: int) -> dict:
    return {"value": str(wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"}


def energy201(wh: int, context: str | None = None) -> dict:
    s = {"value": wh, "measurand": "Energy.Active.Import.Register", "unit_of_measure": {"unit": "Wh"}}
    if context:
        s["context"] = context
    return s


class Station:
    """One charger of either version, with the few messages these tests need."""

    def __init__(self, cp, version: str):
        self.cp, self.version = cp, version
        self.seq: dict[str, int] = {}

    def _seq(self, tx: str) -> int:
        n = self.seq.get(tx, 0)
        self.seq[tx] = n + 1
        return n

    async def boot(self) -> None:
        if self.version == "1.6":
            r = await self.cp.send(call16.BootNotification(charge_point_vendor="Acme", charge_point_model="F16"))
        else:
            r = await self.cp.send(call201.BootNotification(
                reason="PowerUp", charging_station={"model": "F201", "vendor_name": "Acme"}))
        assert r.status == "Accepted", r

    async def status(self, evse: int, value: str) -> None:
        if self.version == "1.6":
            await self.cp.send(call16.StatusNotification(connector_id=evse, error_code="NoError", status=value,
                                                         timestamp=iso(ago(seconds=0))))
        else:
            value = "Occupied" if value == "Charging" else value
            await self.cp.send(call201.StatusNotification(timestamp=iso(ago(seconds=0)), connector_status=value,
                                                          evse_id=evse, connector_id=1))

    async def start(self, evse: int, at, wh: int) -> str:
        if self.version == "1.6":
            r = await self.cp.send(call16.StartTransaction(connector_id=evse, id_tag=TAG, meter_start=wh,
                                                           timestamp=iso(at)))
            assert r.id_tag_info["status"] == "Accepted", r
            return str(r.transaction_id)
        tx = unique("TX")
        await self.cp.send(call201.TransactionEvent(
            event_type="Started", timestamp=iso(at), trigger_reason="Authorized", seq_no=self._seq(tx),
            transaction_info={"transaction_id": tx, "charging_state": "Charging"},
            evse={"id": evse, "connector_id": 1}, id_token={"id_token": TAG, "type": "ISO14443"},
            meter_value=[{"timestamp": iso(at), "sampled_value": [energy201(wh, "Transaction.Begin")]}]))
        return tx

    async def reading(self, evse: int, tx: str, at, wh: int) -> None:
        if self.version == "1.6":
            await self.cp.send(call16.MeterValues(connector_id=evse, transaction_id=int(tx), meter_value=[
                {"timestamp": iso(at), "sampled_value": [energy16(wh)]}]))
        else:
            await self.cp.send(call201.TransactionEvent(
                event_type="Updated", timestamp=iso(at), trigger_reason="MeterValuePeriodic",
                seq_no=self._seq(tx), transaction_info={"transaction_id": tx},
                evse={"id": evse, "connector_id": 1},
                meter_value=[{"timestamp": iso(at), "sampled_value": [energy201(wh, "Sample.Periodic")]}]))

    async def stop(self, evse: int, tx: str, at, wh: int) -> None:
        if self.version == "1.6":
            await self.cp.send(call16.StopTransaction(meter_stop=wh, timestamp=iso(at), transaction_id=int(tx),
                                                      reason="EVDisconnected", id_tag=TAG))
        else:
            await self.cp.send(call201.TransactionEvent(
                event_type="Ended", timestamp=iso(at), trigger_reason="EVDeparted", seq_no=self._seq(tx),
                transaction_info={"transaction_id": tx, "stopped_reason": "EVDisconnected"},
                evse={"id": evse, "connector_id": 1},
                meter_value=[{"timestamp": iso(at), "sampled_value": [energy201(wh, "Transaction.End")]}]))


@contextlib.asynccontextmanager
async def booted(runner, station: str, version: str):
    """A charger of `version` connected as `station` whose BootNotification was accepted, as a Station."""
    async with charger(runner, station, version, PASSWORD) as cp:
        st = Station(cp, version)
        await st.boot()
        yield st


def priced(runner, session_id: str, revision: int = 1, timeout: float = 10.0) -> dict:
    def get():
        r = runner.api("GET", f"/sessions/{quote(session_id)}/price")
        return r.json() if r.status_code == 200 and r.json()["revision"] >= revision else None
    return poll(get, timeout=timeout, what=f"session {session_id} priced (revision {revision})",
                show=lambda: runner.api("GET", f"/sessions/{quote(session_id)}/price").text)


def closed(runner, station: str, tx: str, timeout: float = 5.0) -> dict:
    """The session once it is completed."""
    def get():
        s = runner.session_for(station, tx)
        return s if s["status"] == "completed" else None
    return poll(get, timeout=timeout, what=f"session {tx} of {station} completed",
                show=lambda: runner.session_for(station, tx))


def assert_closed_by_csms(runner, session: dict, reason: str, energy_wh: int) -> dict:
    """Closed with `reason`, priced from the last register reading, the close named in session and price."""
    assert session["status"] == "completed", session
    assert session["closedByCsms"] == reason, session
    assert session["stopReason"] is None, session
    assert session["energyWh"] == energy_wh, session
    assert any(reason in w for w in session["warnings"]), session
    price = priced(runner, session["id"])
    assert price["energyWh"] == str(energy_wh), price
    assert any(reason in w for w in price["warnings"]), price
    assert price["net"] == f"{energy_wh * 2 / 1000:.2f}", price
    return price


# --------------------------------------------------------------------------- point 1: readings after the end


@pytest.mark.parametrize("version", VERSIONS)
def test_readings_after_the_end_are_kept_but_do_not_change_the_session(runner, station, version):
    t0 = ago(minutes=30).replace(microsecond=0)
    t_end = t0 + timedelta(minutes=20)
    late = t_end + timedelta(milliseconds=5)

    async def scenario():
        async with booted(runner, station, version) as st:
            tx = await st.start(1, t0, 100_000)
            await st.reading(1, tx, t0 + timedelta(minutes=10), 100_060)
            await st.stop(1, tx, t_end, 100_123)
            # What the field saw: one more reading, a few ms after the end, with a higher register.
            await st.reading(1, tx, late, 100_191)
            return tx

    tx = run(scenario())
    session = runner.session_for(station, tx)
    assert session["status"] == "completed", session
    assert (session["meterStartWh"], session["meterStopWh"], session["energyWh"]) == (100_000, 100_123, 123), session
    assert session["endedAt"].startswith(t_end.strftime("%Y-%m-%dT%H:%M:%S")), session
    assert session["closedByCsms"] is None, session
    assert any("after the end" in w for w in session["warnings"]), session
    readings = runner.meter_values(session["id"])
    assert any(r["value"] == 100_191 for r in readings), f"the late reading is kept: {readings}"
    # Priced at the stop; the late reading changed nothing to price again.
    price = priced(runner, session["id"])
    assert (price["energyWh"], price["revision"]) == ("123", 1), price


# --------------------------------------------------------------------------- point 2: sessions never ended


@pytest.mark.parametrize("version", VERSIONS)
def test_the_connector_reporting_available_closes_its_open_session(runner, station, version):
    t0 = ago(minutes=30).replace(microsecond=0)

    async def scenario():
        async with booted(runner, station, version) as st:
            tx1 = await st.start(1, t0, 5_000)
            tx2 = await st.start(2, t0, 9_000)
            await st.reading(1, tx1, t0 + timedelta(minutes=5), 5_400)
            await st.reading(2, tx2, t0 + timedelta(minutes=5), 9_100)
            await st.status(2, "Charging")  # not evidence of anything
            await st.status(1, "Available")
            return tx1, tx2

    tx1, tx2 = run(scenario())
    assert_closed_by_csms(runner, closed(runner, station, tx1), "connectorAvailable", 400)
    other = runner.session_for(station, tx2)
    assert other["status"] == "active" and other["closedByCsms"] is None, "the other connector's session stays open"


@pytest.mark.parametrize("version", VERSIONS)
def test_a_new_boot_closes_the_open_sessions_and_a_late_stop_corrects_them(runner, station, version):
    t0 = ago(minutes=30).replace(microsecond=0)
    receiver = Receiver()
    runner.api_ok("POST", "/webhooks", {"url": receiver.url("/ended"), "events": ["session.ended"]}, status=201)

    async def scenario():
        async with booted(runner, station, version) as st:
            tx = await st.start(1, t0, 1_000)
            await st.reading(1, tx, t0 + timedelta(minutes=5), 1_250)
            await st.boot()  # a hard reset mid-transaction
            return st, tx

    st, tx = run(scenario())
    session = closed(runner, station, tx)
    first_price = assert_closed_by_csms(runner, session, "stationRebooted", 250)
    told = receiver.wait_for("/ended", "session.ended", lambda e: e["data"]["transactionId"] == tx)
    assert told["event"]["data"]["closedByCsms"] == "stationRebooted", told["event"]

    # The charger's stop, sent after all, corrects the session and its price.
    t_stop = t0 + timedelta(minutes=7)

    async def late_stop():
        async with charger(runner, station, version, PASSWORD) as cp:
            st.cp = cp
            await st.stop(1, tx, t_stop, 1_300)

    run(late_stop())
    corrected = runner.session_for(station, tx)
    assert corrected["status"] == "completed", corrected
    assert (corrected["meterStopWh"], corrected["energyWh"]) == (1_300, 300), corrected
    assert corrected["stopReason"] == "EVDisconnected", corrected
    assert corrected["endedAt"].startswith(t_stop.strftime("%Y-%m-%dT%H:%M:%S")), corrected
    assert any("corrected" in w for w in corrected["warnings"]), corrected
    price = priced(runner, corrected["id"], revision=2)
    assert (price["energyWh"], price["net"]) == ("300", "0.60"), price
    assert price["revision"] == first_price["revision"] + 1, price
    again = receiver.wait_for("/ended", "session.ended",
                              lambda e: e["data"]["transactionId"] == tx and e["data"]["stopReason"] is not None)
    assert again["event"]["data"]["energyWh"] == 300, again["event"]
    receiver.close()


@pytest.mark.parametrize("version", VERSIONS)
def test_a_new_transaction_on_the_connector_closes_the_one_left_open(runner, station, version):
    t0 = ago(minutes=30).replace(microsecond=0)

    async def scenario():
        async with booted(runner, station, version) as st:
            old = await st.start(1, t0, 2_000)
            await st.reading(1, old, t0 + timedelta(minutes=3), 2_500)
            other = await st.start(2, t0, 7_000)
            new = await st.start(1, t0 + timedelta(minutes=10), 2_600)
            return old, other, new

    old, other, new = run(scenario())
    assert_closed_by_csms(runner, closed(runner, station, old), "newTransaction", 500)
    assert runner.session_for(station, new)["status"] == "active"
    assert runner.session_for(station, other)["status"] == "active", "a start on another connector closes nothing"


@pytest.mark.parametrize("version", VERSIONS)
def test_a_session_without_messages_for_the_idle_time_is_closed_by_the_sweep(runner, station, version):
    t0 = ago(minutes=30).replace(microsecond=0)

    async def scenario():
        async with booted(runner, station, version) as st:
            tx = await st.start(1, t0, 40_000)
            await st.reading(1, tx, t0 + timedelta(minutes=2), 40_700)
            return tx

    tx = run(scenario())
    assert runner.session_for(station, tx)["status"] == "active", "not idle yet"
    session = closed(runner, station, tx, timeout=IDLE_SECONDS + 10)
    price = assert_closed_by_csms(runner, session, "noMessages", 700)
    assert price["revision"] == 1, price


def test_a_16_start_answered_invalid_is_closed_when_the_connector_is_available_again(runner, station):
    """The field case: the charger never stops a transaction whose StartTransaction was answered `Invalid`."""
    t0 = ago(minutes=30).replace(microsecond=0)

    async def scenario():
        async with booted(runner, station, "1.6") as st:
            r = await st.cp.send(call16.StartTransaction(connector_id=1, id_tag=unique("UNKNOWN")[:20],
                                                         meter_start=300, timestamp=iso(t0)))
            assert r.id_tag_info["status"] == "Invalid", r
            tx = str(r.transaction_id)
            await st.reading(1, tx, t0 + timedelta(seconds=30), 310)
            await st.status(1, "Finishing")
            await st.status(1, "Available")
            return tx

    tx = run(scenario())
    assert_closed_by_csms(runner, closed(runner, station, tx), "connectorAvailable", 10)


def test_another_connector_of_the_evse_being_available_closes_nothing(runner, station):
    """2.0.1: an EVSE with two connectors; the free one reporting `Available` says nothing about the other."""
    t0 = ago(minutes=30).replace(microsecond=0)

    async def scenario():
        async with booted(runner, station, "2.0.1") as st:
            tx = await st.start(1, t0, 100)
            await st.cp.send(call201.StatusNotification(timestamp=iso(ago(seconds=0)), connector_status="Available",
                                                        evse_id=1, connector_id=2))
            still_open = runner.session_for(station, tx)
            await st.cp.send(call201.StatusNotification(timestamp=iso(ago(seconds=0)), connector_status="Available",
                                                        evse_id=1, connector_id=1))
            return tx, still_open

    tx, still_open = run(scenario())
    assert still_open["status"] == "active" and still_open["closedByCsms"] is None, still_open
    assert closed(runner, station, tx)["closedByCsms"] == "connectorAvailable"
