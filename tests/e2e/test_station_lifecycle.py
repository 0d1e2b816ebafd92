"""A station's life after registration, from the outside: rename and move it, rotate its
password with a grace period for the old one, take it out of service and back, and delete it
only while it has no history. Chargers are the `ocpp` library's, on both OCPP versions."""

from __future__ import annotations

import asyncio

import pytest
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from csms_e2e import (assert_error, basic_auth, charger, create_test_tokens, handshake_status, iso, now_utc,
                      poll, run, unique)

OLD = "lifecycle-old-pass-01"
NEW = "lifecycle-new-pass-02"


@pytest.fixture(scope="module", autouse=True)
def tokens(runner):
    create_test_tokens(runner)


def connect_status(runner, station: str, password: str | None, version: str = "1.6") -> int:
    sub = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1"}[version]
    headers = basic_auth(station, password) if password else None
    code, _ = run(handshake_status(runner.ws_url(station), [sub], headers))
    return code


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_the_old_password_works_during_its_grace_and_not_after(runner, version):
    sid = runner.create_station(unique("CP-rot"), password=OLD)["id"]
    answer = runner.api_ok("POST", f"/stations/{sid}/password", {"password": NEW, "graceHours": 1})
    assert answer["password"] is None, "a password the operator chose is not echoed"
    assert answer["previousValidUntil"], answer
    assert answer["station"]["previousPasswordValidUntil"] == answer["previousValidUntil"]
    assert connect_status(runner, sid, NEW, version) == 101, "the new password"
    assert connect_status(runner, sid, OLD, version) == 101, "the old one, during its grace"
    assert connect_status(runner, sid, "wrong-password-123", version) == 401

    # No grace: the old one is refused at once; a made-up password is shown once and works.
    answer = runner.api_ok("POST", f"/stations/{sid}/password", {"graceHours": 0})
    made_up = answer["password"]
    assert isinstance(made_up, str) and len(made_up) == 32, answer
    assert answer["previousValidUntil"] is None
    assert connect_status(runner, sid, made_up, version) == 101
    assert connect_status(runner, sid, NEW, version) == 401, "the replaced password, no grace"
    assert connect_status(runner, sid, OLD, version) == 401, "the password before that"
    shown = str(runner.station(sid))
    for secret in (OLD, NEW, made_up, "argon2"):
        assert secret not in shown, f"the station's view shows {secret!r}"


def test_bad_rotations_name_the_field_and_change_nothing(runner):
    sid = runner.create_station(unique("CP-rot-bad"), password=OLD)["id"]
    for body, field in [({"password": "short"}, "password"), ({"graceHours": 721}, "graceHours"),
                        ({"graceHours": -1}, "graceHours"), ({"pasword": NEW}, "pasword")]:
        err = assert_error(runner.api("POST", f"/stations/{sid}/password", body), 400)
        assert field in err["message"], (body, err)
    assert connect_status(runner, sid, OLD) == 101, "the password is unchanged"


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_a_decommissioned_station_is_disconnected_refused_and_keeps_its_history(runner, version):
    sid = runner.create_station(unique("CP-dec"), password=OLD)["id"]

    async def scenario():
        async with charger(runner, sid, version, password=OLD) as cp:
            if version == "1.6":
                await cp.send(call16.BootNotification(charge_point_vendor="Acme", charge_point_model="D1"))
                await cp.send(call16.StartTransaction(connector_id=1, id_tag="TAG-OK", meter_start=0,
                                                      timestamp=iso(now_utc())))
            else:
                await cp.send(call201.BootNotification(
                    charging_station={"vendor_name": "Acme", "model": "D2"}, reason="PowerUp"))
                await cp.send(call201.TransactionEvent(
                    event_type="Started", timestamp=iso(now_utc()), trigger_reason="Authorized", seq_no=0,
                    transaction_info={"transaction_id": "dec-tx-1"}, evse={"id": 1, "connector_id": 1},
                    id_token={"id_token": "TAG-OK", "type": "ISO14443"}))
            poll(lambda: runner.sessions(stationId=sid)["items"], what="the session is recorded")
            view = runner.api_ok("POST", f"/stations/{sid}/decommission")
            assert view["decommissionedAt"], view
            # The CSMS closes the socket.
            await asyncio.wait_for(cp.ws.wait_closed(), 10)

    run(scenario())
    assert connect_status(runner, sid, OLD, version) == 403, "refused while out of service"
    err = assert_error(runner.api("POST", f"/stations/{sid}/commands", {"type": "clearCache"}), 409)
    assert "decommissioned" in err["message"], err
    assert runner.sessions(stationId=sid)["items"], "the history stays"
    assert runner.station(sid)["decommissionedAt"]
    err = assert_error(runner.api("DELETE", f"/stations/{sid}"), 409)
    assert "history" in err["message"], err

    view = runner.api_ok("POST", f"/stations/{sid}/recommission")
    assert view["decommissionedAt"] is None
    assert connect_status(runner, sid, OLD, version) == 101, "back in service"


def test_rename_and_move_keep_where_earlier_sessions_happened(runner):
    sid = runner.create_station(unique("CP-mv"), siteId="garage-north")["id"]

    async def session(meter_stop: int) -> None:
        async with charger(runner, sid, "1.6") as cp:
            await cp.send(call16.BootNotification(charge_point_vendor="Acme", charge_point_model="M1"))
            start = await cp.send(call16.StartTransaction(connector_id=1, id_tag="TAG-OK", meter_start=0,
                                                          timestamp=iso(now_utc())))
            await cp.send(call16.StopTransaction(transaction_id=start.transaction_id, meter_stop=meter_stop,
                                                 timestamp=iso(now_utc())))

    run(session(1000))
    err = assert_error(runner.api("PATCH", f"/stations/{sid}", {"siteId": unique("no-such-site")}), 400)
    assert err["message"] == "siteId: no such site", err
    runner.ensure_site("garage-south")
    view = runner.api_ok("PATCH", f"/stations/{sid}", {"name": "Bay 12", "siteId": "garage-south"})
    assert (view["name"], view["siteId"]) == ("Bay 12", "garage-south"), view
    run(session(2000))
    sites = sorted(s["siteId"] for s in poll(lambda: len(runner.sessions(stationId=sid)["items"]) == 2
                                             and runner.sessions(stationId=sid)["items"], what="two sessions"))
    assert sites == ["garage-north", "garage-south"], "each session keeps the site it happened at"

    view = runner.api_ok("PATCH", f"/stations/{sid}", {"name": None})
    assert view["name"] is None and view["siteId"] == "garage-south", "null removes, absent keeps"
    err = assert_error(runner.api("PATCH", f"/stations/{sid}", {"siteId": "no spaces allowed"}), 400)
    assert "siteId" in err["message"], err
    err = assert_error(runner.api("PATCH", f"/stations/{sid}", {"name": "x" * 201}), 400)
    assert "name" in err["message"], err
    assert runner.station(sid)["siteId"] == "garage-south", "a refused change changes nothing"


def test_only_a_station_without_history_is_deleted(runner):
    sid = runner.create_station(unique("CP-del"), password=OLD)["id"]

    async def connected_once():
        async with charger(runner, sid, "2.0.1", password=OLD) as cp:
            await cp.send(call201.BootNotification(
                charging_station={"vendor_name": "Acme", "model": "X"}, reason="PowerUp"))

    run(connected_once())
    # A 2.0.1 station accepted at boot was asked for its device model: that is a command.
    poll(lambda: runner.api_ok("GET", f"/stations/{sid}/commands")["items"], what="the report request")
    err = assert_error(runner.api("DELETE", f"/stations/{sid}"), 409)
    assert "commands" in err["message"], err

    fresh = runner.create_station(unique("CP-del"), password=OLD)["id"]
    r = runner.api("DELETE", f"/stations/{fresh}")
    assert r.status_code == 204, r.text
    assert_error(runner.api("GET", f"/stations/{fresh}"), 404)
    assert connect_status(runner, fresh, OLD) == 404, "a deleted station is unknown"
    assert fresh not in [s["id"] for s in runner.api_ok("GET", "/stations", params={"limit": 500})["items"]]
    # The id is free again.
    runner.create_station(fresh)
    assert_error(runner.api("DELETE", f"/stations/{unique('CP-none')}"), 404)
