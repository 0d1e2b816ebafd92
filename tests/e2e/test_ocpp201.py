"""OCPP 2.0.1 charging stations (the `ocpp` library's v201 ChargePoint) against csms-local."""

from __future__ import annotations

from datetime import timedelta

import pytest
from ocpp.v201 import call

from csms_e2e import (ago, assert_connected_follows_the_socket, assert_reading, charger, connectors_of,
                      create_test_tokens, iso, now_utc, parse_time, run, unique)

PASSWORD = "two-oh-one-pass-99"
VENDOR, MODEL, SERIAL, FIRMWARE = "Acme Power", "Wallbox-201", "SN-201-0001", "2.0.1-r7"
TAG_OK = {"id_token": "TAG-OK", "type": "ISO14443"}


@pytest.fixture(scope="module", autouse=True)
def tokens(runner):
    create_test_tokens(runner)


@pytest.fixture
def station(runner) -> str:
    return runner.create_station(unique("CS201"), password=PASSWORD)["id"]


async def boot(cp) -> None:
    result = await cp.send(call.BootNotification(
        reason="PowerUp",
        charging_station={"model": MODEL, "vendor_name": VENDOR, "serial_number": SERIAL,
                          "firmware_version": FIRMWARE}))
    assert result.status == "Accepted", f"BootNotification: {result}"
    assert 0 < result.interval < 600, f"heartbeat interval should be in (0, 600) s, got {result.interval}"
    assert abs((parse_time(result.current_time) - now_utc()).total_seconds()) < 120, result


async def connector_status(cp, evse: int, connector: int, value: str) -> None:
    await cp.send(call.StatusNotification(timestamp=iso(now_utc()), connector_status=value, evse_id=evse,
                                          connector_id=connector))


def sample(value, measurand="Energy.Active.Import.Register", unit="Wh", multiplier=None, **extra) -> dict:
    uom = {"unit": unit}
    if multiplier is not None:
        uom["multiplier"] = multiplier
    return {"value": value, "measurand": measurand, "unit_of_measure": uom, **extra}


# --------------------------------------------------------------------------- the full session

def test_full_session(runner, station):
    tx_id = unique("TX")
    t0 = ago(minutes=20).replace(microsecond=0)
    t1, t2, t3 = (t0 + timedelta(minutes=m) for m in (5, 10, 15))

    async def scenario():
        async with charger(runner, station, "2.0.1", PASSWORD) as cp:
            await boot(cp)
            view = runner.station(station)
            assert view["connected"] is True, view
            assert view["ocppVersion"] == "2.0.1", view
            assert (view["vendor"], view["model"], view["serialNumber"], view["firmwareVersion"]) == (
                VENDOR, MODEL, SERIAL, FIRMWARE), view

            await connector_status(cp, 1, 1, "Available")
            await connector_status(cp, 2, 1, "Available")
            for tag, expected in [("TAG-OK", "Accepted"), ("TAG-BLOCKED", "Blocked"),
                                  ("TAG-EXPIRED", "Expired"), (unique("TAG-UNKNOWN"), "Invalid")]:
                result = await cp.send(call.Authorize(id_token={"id_token": tag, "type": "ISO14443"}))
                assert result.id_token_info["status"] == expected, f"Authorize {tag}: {result.id_token_info}"

            await connector_status(cp, 1, 1, "Occupied")
            assert connectors_of(runner.station(station)) == {(1, 1): "Occupied", (2, 1): "Available"}

            started = await cp.send(call.TransactionEvent(
                event_type="Started", timestamp=iso(t0), trigger_reason="Authorized", seq_no=0,
                transaction_info={"transaction_id": tx_id, "charging_state": "Charging"},
                evse={"id": 1, "connector_id": 1}, id_token=TAG_OK,
                meter_value=[{"timestamp": iso(t0),
                              "sampled_value": [sample(2000, context="Transaction.Begin")]}]))
            assert started.id_token_info and started.id_token_info["status"] == "Accepted", started

            active = runner.session_for(station, tx_id)
            assert active["status"] == "active", active
            assert active["meterStartWh"] == 2000, active
            assert active["idToken"] == "TAG-OK", active
            assert (active["evseId"], active["connectorId"]) == (1, 1), active
            assert parse_time(active["startedAt"]) == t0, active

            updated_1 = call.TransactionEvent(
                event_type="Updated", timestamp=iso(t1), trigger_reason="MeterValuePeriodic", seq_no=1,
                transaction_info={"transaction_id": tx_id, "charging_state": "Charging"},
                meter_value=[{"timestamp": iso(t1), "sampled_value": [
                    sample(3.5, unit="kWh", context="Sample.Periodic"),
                    sample(11, "Power.Active.Import", "kW"),
                    sample(16.0, "Current.Import", "A", phase="L1"),
                    sample(15.5, "Current.Import", "A", phase="L2"),
                    sample(30, "SoC", "Percent", location="EV"),
                ]}])
            await cp.send(updated_1)
            await cp.send(call.TransactionEvent(
                event_type="Updated", timestamp=iso(t2), trigger_reason="MeterValuePeriodic", seq_no=2,
                transaction_info={"transaction_id": tx_id},
                meter_value=[{"timestamp": iso(t2), "sampled_value": [
                    sample(5, multiplier=3),
                    sample(7.4, "Power.Active.Import", "W", multiplier=3),
                ]}]))

            before = runner.session_for(station, tx_id)
            readings_before = runner.meter_values(before["id"])
            await cp.send(updated_1)  # seqNo 1 again, verbatim
            assert runner.session_record(before["id"]) == before, "a resent TransactionEvent changed the session"
            assert runner.meter_values(before["id"]) == readings_before, (
                "a resent TransactionEvent changed the meter values")

            ended = await cp.send(call.TransactionEvent(
                event_type="Ended", timestamp=iso(t3), trigger_reason="EVDeparted", seq_no=3,
                transaction_info={"transaction_id": tx_id, "stopped_reason": "EVDisconnected"},
                evse={"id": 1, "connector_id": 1}, id_token=TAG_OK,
                meter_value=[{"timestamp": iso(t3), "sampled_value": [sample(9000, context="Transaction.End")]}]))
            assert ended.id_token_info is None or ended.id_token_info["status"] == "Accepted", ended
            await connector_status(cp, 1, 1, "Available")

        session = runner.session_for(station, tx_id)
        expected = {"status": "completed", "stationId": station, "transactionId": tx_id, "idToken": "TAG-OK",
                    "evseId": 1, "connectorId": 1, "meterStartWh": 2000, "meterStopWh": 9000, "energyWh": 7000,
                    "stopReason": "EVDisconnected"}
        assert {k: session.get(k) for k in expected} == expected, session
        assert parse_time(session["endedAt"]) == t3, session
        assert runner.session_record(session["id"]) == session

        readings = runner.meter_values(session["id"])
        stamps = [parse_time(r["timestamp"]) for r in readings]
        assert stamps == sorted(stamps), "meter values must be sorted by timestamp"
        assert_reading(readings, t0, "Energy.Active.Import.Register", 2000, "Wh", context="Transaction.Begin")
        assert_reading(readings, t1, "Energy.Active.Import.Register", 3500, "Wh", context="Sample.Periodic")
        assert_reading(readings, t1, "Power.Active.Import", 11000, "W")  # 11 kW
        assert_reading(readings, t1, "Current.Import", 16.0, "A", phase="L1")
        assert_reading(readings, t1, "Current.Import", 15.5, "A", phase="L2")
        assert_reading(readings, t1, "SoC", 30, "Percent", location="EV")
        assert_reading(readings, t2, "Energy.Active.Import.Register", 5000, "Wh")  # 5 Wh x 10^3
        assert_reading(readings, t2, "Power.Active.Import", 7400, "W")  # 7.4 W x 10^3
        assert_reading(readings, t3, "Energy.Active.Import.Register", 9000, "Wh", context="Transaction.End")
        assert connectors_of(runner.station(station))[(1, 1)] == "Available"

    run(scenario())


def test_offline_transaction_event_is_accepted(runner, station):
    tx_id = unique("TX-OFF")
    t0 = ago(hours=2).replace(microsecond=0)

    async def scenario():
        async with charger(runner, station, "2.0.1", PASSWORD) as cp:
            await boot(cp)
            result = await cp.send(call.TransactionEvent(
                event_type="Started", timestamp=iso(t0), trigger_reason="CablePluggedIn", seq_no=0, offline=True,
                transaction_info={"transaction_id": tx_id}, evse={"id": 2, "connector_id": 1},
                meter_value=[{"timestamp": iso(t0), "sampled_value": [sample(100)]}]))
            assert result is not None
            await cp.send(call.TransactionEvent(
                event_type="Ended", timestamp=iso(t0 + timedelta(minutes=30)), trigger_reason="EVCommunicationLost",
                seq_no=1, offline=True, transaction_info={"transaction_id": tx_id, "stopped_reason": "Local"},
                meter_value=[{"timestamp": iso(t0 + timedelta(minutes=30)),
                              "sampled_value": [sample(1100, context="Transaction.End")]}]))

    run(scenario())
    session = runner.session_for(station, tx_id)
    assert session["status"] == "completed", session
    assert (session["meterStartWh"], session["meterStopWh"], session["energyWh"]) == (100, 1100, 1000), session
    assert session["evseId"] == 2, session


def test_ended_event_for_unknown_transaction_is_answered_and_kept(runner, station):
    tx_id = unique("TX-LOST")
    when = ago(minutes=3).replace(microsecond=0)

    async def scenario():
        async with charger(runner, station, "2.0.1", PASSWORD) as cp:
            await boot(cp)
            await cp.send(call.TransactionEvent(
                event_type="Ended", timestamp=iso(when), trigger_reason="StopAuthorized", seq_no=7,
                transaction_info={"transaction_id": tx_id, "stopped_reason": "Local"}, id_token=TAG_OK,
                meter_value=[{"timestamp": iso(when), "sampled_value": [sample(4321, context="Transaction.End")]}]))

    run(scenario())
    session = runner.session_for(station, tx_id)
    assert session["status"] == "completed", session
    assert session["meterStopWh"] == 4321, session
    assert session["stopReason"] == "Local", session


def test_started_event_with_blocked_token(runner, station):
    async def scenario():
        async with charger(runner, station, "2.0.1", PASSWORD) as cp:
            await boot(cp)
            result = await cp.send(call.TransactionEvent(
                event_type="Started", timestamp=iso(now_utc()), trigger_reason="Authorized", seq_no=0,
                transaction_info={"transaction_id": unique("TX")}, evse={"id": 1, "connector_id": 1},
                id_token={"id_token": "TAG-BLOCKED", "type": "ISO14443"}))
            assert result.id_token_info and result.id_token_info["status"] == "Blocked", result

    run(scenario())


# --------------------------------------------------------------------------- other messages

def test_other_station_messages_are_answered(runner, station):
    now = iso(now_utc())

    async def scenario():
        async with charger(runner, station, "2.0.1", PASSWORD) as cp:
            await boot(cp)
            hb = await cp.send(call.Heartbeat())
            assert abs((parse_time(hb.current_time) - now_utc()).total_seconds()) < 120, hb
            await cp.send(call.MeterValues(evse_id=1, meter_value=[{"timestamp": now, "sampled_value": [
                sample(123456), sample(230.2, "Voltage", "V", phase="L1-N")]}]))
            await cp.send(call.NotifyReport(request_id=1, generated_at=now, seq_no=0, tbc=False, report_data=[{
                "component": {"name": "OCPPCommCtrlr"},
                "variable": {"name": "HeartbeatInterval"},
                "variable_attribute": [{"type": "Actual", "value": "300"}],
            }]))
            await cp.send(call.NotifyEvent(generated_at=now, seq_no=0, event_data=[{
                "event_id": 1, "timestamp": now, "trigger": "Delta", "actual_value": "Faulted",
                "event_notification_type": "HardWiredNotification",
                "component": {"name": "Connector", "evse": {"id": 1, "connector_id": 1}},
                "variable": {"name": "AvailabilityState"},
            }]))
            await cp.send(call.SecurityEventNotification(type="StartupOfTheDevice", timestamp=now,
                                                         tech_info="cold boot"))
            await cp.send(call.FirmwareStatusNotification(status="Installed", request_id=1))
            await cp.send(call.FirmwareStatusNotification(status="Idle"))
            await cp.send(call.LogStatusNotification(status="Idle"))
            await cp.send(call.LogStatusNotification(status="Uploaded", request_id=3))
            dt = await cp.send(call.DataTransfer(vendor_id="acme", message_id="ping", data={"hello": 1}))
            assert dt.status in ("Accepted", "Rejected", "UnknownMessageId", "UnknownVendorId"), dt
            await connector_status(cp, 1, 1, "Faulted")
            await connector_status(cp, 1, 2, "Unavailable")
            assert connectors_of(runner.station(station)) == {(1, 1): "Faulted", (1, 2): "Unavailable"}

    run(scenario())


def test_connected_flag_follows_the_socket(runner, station):
    assert_connected_follows_the_socket(runner, station, "2.0.1", PASSWORD, boot)
