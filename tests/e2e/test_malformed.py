"""Malformed and invalid OCPP-J frames: the right CALLERROR per version, and the socket keeps serving.

Raw `websockets` connections (no `ocpp` library), after a valid BootNotification.
After every bad frame a valid Heartbeat must still get its CALLRESULT.
"""

from __future__ import annotations

import asyncio
import json
import random
import string

import pytest

from csms_e2e import raw_charger, run, unique

LONG_VENDOR = "this-vendor-name-is-way-too-long-for-ocpp"  # > 20 characters (CiString20Type)

# (frame, expected message id, expected error code)
CASES_16 = [
    ("not json", "-1", "FormationViolation"),
    ('{"a":1}', "-1", "FormationViolation"),
    ('[2,"m1","NoSuchAction",{}]', "m1", "NotImplemented"),
    ('[2,"m2","BootNotification",{}]', "m2", "OccurenceConstraintViolation"),  # sic: 1.6 spelling
    ('[2,"m3","BootNotification",{"chargePointVendor":12,"chargePointModel":"x"}]', "m3", "TypeConstraintViolation"),
    (f'[2,"m4","BootNotification",{{"chargePointVendor":"{LONG_VENDOR}","chargePointModel":"x"}}]', "m4",
     "PropertyConstraintViolation"),
    ('[2,"m5","StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"Dancing"}]', "m5",
     "PropertyConstraintViolation"),
    ('[2,"m6","Heartbeat",{},"extra"]', "m6", "FormationViolation"),
    ('[2,"m7","Heartbeat"]', "m7", "ProtocolError"),
    ('[2,"m8","Heartbeat",{"unexpected":1}]', "m8", "FormationViolation"),
    ('[2,"m9","Reset",{"type":"Hard"}]', "m9", "NotSupported"),
    ('[7,"m10","Heartbeat",{}]', "m10", "FormationViolation"),
]
IDS_16 = ["not-json", "not-an-array", "unknown-action", "missing-required", "wrong-type", "too-long",
          "bad-enum", "extra-element", "payload-missing", "additional-property", "csms-to-charger-action",
          "unknown-message-type"]

CASES_201 = [
    ("not json", "-1", "RpcFrameworkError"),
    ('[2,"m1","NoSuchAction",{}]', "m1", "NotImplemented"),
    ('[2,"m2","BootNotification",{}]', "m2", "OccurrenceConstraintViolation"),
    ('[2,"m3","BootNotification",{"reason":"PowerUp","chargingStation":{"model":5,"vendorName":"v"}}]', "m3",
     "TypeConstraintViolation"),
    ('[2,"m4","BootNotification",{"reason":"Bored","chargingStation":{"model":"m","vendorName":"v"}}]', "m4",
     "PropertyConstraintViolation"),
    ('[2,"m8","Heartbeat",{"unexpected":1}]', "m8", "FormatViolation"),
    ('[7,"m10","Heartbeat",{}]', "m10", "MessageTypeNotSupported"),
    ('[2,"m7","Heartbeat"]', "m7", "RpcFrameworkError"),
]
IDS_201 = ["not-json", "unknown-action", "missing-required", "wrong-type", "bad-enum", "additional-property",
           "unknown-message-type", "payload-missing"]


@pytest.fixture
def station(runner) -> str:
    return runner.create_station(unique("CP-raw"))["id"]


def assert_call_error(reply, message_id: str, code: str, frame: str) -> None:
    shown = frame if len(frame) < 120 else frame[:120] + "…"
    assert isinstance(reply, list) and reply and reply[0] == 4, (
        f"frame {shown!r} should be answered with a CALLERROR [4, id, code, description, details], got {reply!r}")
    assert len(reply) == 5, f"a CALLERROR has 5 elements: {reply!r}"
    _, got_id, got_code, description, details = reply
    assert (got_id, got_code) == (message_id, code), (
        f"frame {shown!r}: expected CALLERROR id {message_id!r} code {code!r}, got id {got_id!r} code {got_code!r} "
        f"({description!r})")
    assert isinstance(description, str), reply
    assert isinstance(details, dict), f"CALLERROR details must be an object: {reply!r}"


async def bad_frame_then_heartbeat(runner, station, version, frame, message_id, code):
    async with raw_charger(runner, station, version) as charger:
        await charger.send_text(frame)
        reply = await charger.expect_reply()
        assert_call_error(reply, message_id, code, frame)
        await charger.heartbeat_works("hb-1")


@pytest.mark.parametrize("frame,message_id,code", CASES_16, ids=IDS_16)
def test_ocpp16_bad_frame(runner, station, frame, message_id, code):
    run(bad_frame_then_heartbeat(runner, station, "1.6", frame, message_id, code))


@pytest.mark.parametrize("frame,message_id,code", CASES_201, ids=IDS_201)
def test_ocpp201_bad_frame(runner, station, frame, message_id, code):
    run(bad_frame_then_heartbeat(runner, station, "2.0.1", frame, message_id, code))


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_unsolicited_call_result_gets_no_reply(runner, station, version):
    async def scenario():
        async with raw_charger(runner, station, version) as charger:
            for kind, unsolicited in [("CALLRESULT", '[3,"nobody-asked",{}]'),
                                      ("CALLERROR", '[4,"nobody-asked-either","InternalError","oops",{}]')]:
                await charger.send_text(unsolicited)
                try:
                    reply = await charger.reply(timeout=0.5)
                except asyncio.TimeoutError:
                    reply = None
                assert reply is None, f"a {kind} nobody asked for must not be answered, got {reply!r}"
            await charger.heartbeat_works("hb-after-result")

    run(scenario())


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_huge_garbage_frame(runner, station, version):
    rng = random.Random(42)
    garbage = "".join(rng.choice(string.ascii_letters + string.digits + "{}[],:\" ") for _ in range(200_000))

    async def scenario():
        async with raw_charger(runner, station, version) as charger:
            await charger.send_text(garbage)
            reply = await charger.expect_reply(timeout=10)
            assert isinstance(reply, list) and reply[0] == 4, f"200 KB of garbage should get a CALLERROR: {reply!r}"
            await charger.heartbeat_works("hb-after-garbage")

    run(scenario())


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_many_bad_frames_on_one_socket(runner, station, version):
    cases = CASES_16 if version == "1.6" else CASES_201

    async def scenario():
        async with raw_charger(runner, station, version) as charger:
            for i, (frame, message_id, code) in enumerate(cases):
                await charger.send_text(frame)
                assert_call_error(await charger.expect_reply(), message_id, code, frame)
                await charger.heartbeat_works(f"hb-{i}")

    run(scenario())


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_valid_call_without_library(runner, station, version):
    async def scenario():
        async with raw_charger(runner, station, version) as charger:
            result = await charger.call("hb-raw", "Heartbeat", {})
            assert set(result) == {"currentTime"}, f"Heartbeat result: {json.dumps(result)}"

    run(scenario())
