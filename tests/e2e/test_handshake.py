"""The OCPP WebSocket handshake: identity, HTTP Basic auth, subprotocol negotiation."""

from __future__ import annotations

import pytest

from csms_e2e import basic_auth, handshake_status, raw_handshake, run, unique

PASSWORD = "station-pass-0042"


@pytest.fixture
def open_station(runner) -> str:
    """A registered station without a password (security profile 0)."""
    return runner.create_station(unique("CP-open"))["id"]


@pytest.fixture
def locked_station(runner) -> str:
    """A registered station with a password (HTTP Basic auth required)."""
    return runner.create_station(unique("CP-locked"), password=PASSWORD)["id"]


def assert_refused(result, status, what):
    code, sub = result
    assert code == status, f"{what}: expected the handshake to be refused with HTTP {status}, got {code} ({sub!r})"


def assert_accepted(result, subprotocol, what):
    code, sub = result
    assert code == 101, f"{what}: expected the handshake to succeed, it was refused with HTTP {code}"
    assert sub == subprotocol, f"{what}: negotiated {sub!r}, expected {subprotocol!r}"


# --------------------------------------------------------------------------- refusals

def test_unregistered_station_is_404(runner):
    result = run(handshake_status(runner.ws_url(unique("CP-unknown")), ["ocpp1.6"]))
    assert_refused(result, 404, "unregistered station")


def test_unregistered_station_is_404_even_with_credentials(runner):
    sid = unique("CP-unknown")
    result = run(handshake_status(runner.ws_url(sid), ["ocpp2.0.1"], basic_auth(sid, PASSWORD)))
    assert_refused(result, 404, "unregistered station with Basic auth")


def test_password_station_without_credentials_is_401(runner, locked_station):
    result = run(handshake_status(runner.ws_url(locked_station), ["ocpp1.6"]))
    assert_refused(result, 401, "no credentials")


def test_password_station_with_wrong_password_is_401(runner, locked_station):
    result = run(handshake_status(runner.ws_url(locked_station), ["ocpp1.6"],
                                  basic_auth(locked_station, PASSWORD + "x")))
    assert_refused(result, 401, "wrong password")


def test_password_station_with_wrong_username_is_401(runner, locked_station):
    result = run(handshake_status(runner.ws_url(locked_station), ["ocpp2.0.1"],
                                  basic_auth(locked_station + "-other", PASSWORD)))
    assert_refused(result, 401, "username is not the station id")


def test_password_station_with_non_basic_authorization_is_401(runner, locked_station):
    result = run(handshake_status(runner.ws_url(locked_station), ["ocpp1.6"],
                                  {"Authorization": f"Bearer {PASSWORD}"}))
    assert_refused(result, 401, "Bearer instead of Basic")


@pytest.mark.parametrize("offered", [["ocpp1.5"], None, ["ocpp2.1-not-real", "json"]],
                         ids=["only-ocpp1.5", "no-subprotocol", "unknown-protocols"])
def test_no_acceptable_subprotocol_is_400(runner, open_station, offered):
    result = run(handshake_status(runner.ws_url(open_station), offered))
    assert_refused(result, 400, f"offering {offered!r}")


def test_no_acceptable_subprotocol_is_400_for_password_station_too(runner, locked_station):
    result = run(handshake_status(runner.ws_url(locked_station), ["ocpp1.5"],
                                  basic_auth(locked_station, PASSWORD)))
    assert_refused(result, 400, "correct credentials but only ocpp1.5")


# --------------------------------------------------------------------------- acceptance and negotiation

def test_open_station_connects_without_credentials(runner, open_station):
    assert_accepted(run(handshake_status(runner.ws_url(open_station), ["ocpp1.6"])), "ocpp1.6", "open station")


def test_password_station_connects_with_basic_auth(runner, locked_station):
    result = run(handshake_status(runner.ws_url(locked_station), ["ocpp1.6"], basic_auth(locked_station, PASSWORD)))
    assert_accepted(result, "ocpp1.6", "correct credentials")


def test_password_station_connects_with_credentials_in_the_url(runner, locked_station):
    url = runner.ws_url(locked_station).replace("ws://", f"ws://{locked_station}:{PASSWORD}@", 1)
    assert_accepted(run(handshake_status(url, ["ocpp2.0.1"])), "ocpp2.0.1", "credentials in the URL")


@pytest.mark.parametrize("offered,expected", [
    (["ocpp1.6", "ocpp2.0.1"], "ocpp2.0.1"),
    (["ocpp2.0.1", "ocpp1.6"], "ocpp2.0.1"),
    (["ocpp1.6"], "ocpp1.6"),
    (["ocpp2.0.1"], "ocpp2.0.1"),
    (["ocpp1.5", "ocpp1.6"], "ocpp1.6"),
], ids=["1.6+2.0.1", "2.0.1+1.6", "1.6-only", "2.0.1-only", "1.5+1.6"])
def test_subprotocol_negotiation(runner, open_station, offered, expected):
    assert_accepted(run(handshake_status(runner.ws_url(open_station), offered)), expected, f"offering {offered!r}")


def test_offered_list_with_spaces_around_commas(runner, open_station):
    status, headers = run(raw_handshake(runner.port, f"/ocpp/{open_station}",
                                        {"Sec-WebSocket-Protocol": "ocpp1.6 , ocpp2.0.1"}))
    assert status == 101, f"raw handshake with 'ocpp1.6 , ocpp2.0.1' refused with HTTP {status}"
    assert headers.get("sec-websocket-protocol") == "ocpp2.0.1", headers


def test_raw_handshake_without_subprotocol_is_400(runner, open_station):
    status, _ = run(raw_handshake(runner.port, f"/ocpp/{open_station}", {}))
    assert status == 400, f"expected HTTP 400 without Sec-WebSocket-Protocol, got {status}"


def test_raw_handshake_with_basic_auth(runner, locked_station):
    headers = {"Sec-WebSocket-Protocol": "ocpp1.6", **basic_auth(locked_station, PASSWORD)}
    status, got = run(raw_handshake(runner.port, f"/ocpp/{locked_station}", headers))
    assert status == 101, f"raw handshake with correct Basic auth refused with HTTP {status}"
    assert got.get("sec-websocket-protocol") == "ocpp1.6", got
