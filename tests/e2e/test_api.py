"""HTTP API v1: authentication, validation and the station / id-token resources."""

from __future__ import annotations

import random

import pytest
import requests

from csms_e2e import ADMIN_KEY, assert_error, iso, now_utc, parse_time, quote, unique
from datetime import timedelta

STATION_VIEW_KEYS = {"id", "name", "siteId", "connected", "ocppVersion", "vendor", "model", "serialNumber",
                     "firmwareVersion", "lastSeenAt", "evses"}
TOKEN_TYPES = ["ISO14443", "ISO15693", "eMAID", "Central", "KeyCode", "Local", "MacAddress", "NoAuthorization"]
TOKEN_STATUSES = ["Accepted", "Blocked", "Expired", "Invalid"]


def list_all(runner, path: str) -> list[dict]:
    """Follow nextCursor through every page of a list endpoint."""
    items, cursor = [], None
    for _ in range(100):
        page = runner.api_ok("GET", path, params={"cursor": cursor} if cursor else None)
        assert set(page) >= {"items", "nextCursor"}, f"list body must have items and nextCursor: {page!r}"
        items.extend(page["items"])
        cursor = page["nextCursor"]
        if not cursor:
            return items
    raise AssertionError(f"{path}: more than 100 pages, the cursor never ends")


def test_healthz_needs_no_key(runner):
    r = requests.get(f"{runner.base_url}/healthz", timeout=5)
    assert r.status_code == 200, r.text


# --------------------------------------------------------------------------- authentication

PROTECTED = [
    ("GET", "/stations"),
    ("POST", "/stations"),
    ("GET", "/stations/CP-any"),
    ("GET", "/id-tokens"),
    ("POST", "/id-tokens"),
    ("GET", "/sessions"),
    ("GET", "/sessions/any-session"),
    ("GET", "/sessions/any-session/meter-values"),
]


@pytest.mark.parametrize("method,path", PROTECTED, ids=[f"{m} {p}" for m, p in PROTECTED])
def test_missing_key_is_401(runner, method, path):
    assert_error(runner.api(method, path, json={"id": unique("CP")} if method == "POST" else None, key=None), 401)


@pytest.mark.parametrize("header", [
    "Bearer wrong-key-0123456789abcdef",
    "Bearer ",
    f"Bearer {ADMIN_KEY}x",
    f"Basic {ADMIN_KEY}",
    ADMIN_KEY,
], ids=["wrong-key", "empty-bearer", "key-with-suffix", "basic-scheme", "no-scheme"])
def test_invalid_key_is_401(runner, header):
    r = runner.api("GET", "/stations", key=None, headers={"Authorization": header})
    assert_error(r, 401)


def test_wrong_key_cannot_create(runner):
    sid = unique("CP")
    assert_error(runner.api("POST", "/stations", {"id": sid}, key="not-the-admin-key-000000"), 401)
    assert_error(runner.api("GET", f"/stations/{sid}"), 404)


# --------------------------------------------------------------------------- stations

def test_create_station_returns_its_view(runner):
    sid = unique("CP")
    password = "correct-horse-battery"
    runner.ensure_site("site-7")
    r = runner.api("POST", "/stations", {"id": sid, "password": password, "name": "Garage 1", "siteId": "site-7"})
    assert r.status_code == 201, r.text
    view = r.json()
    assert set(view) >= STATION_VIEW_KEYS, f"station view lacks {STATION_VIEW_KEYS - set(view)}: {view!r}"
    assert view["id"] == sid
    assert view["name"] == "Garage 1"
    assert view["siteId"] == "site-7"
    assert view["connected"] is False
    assert view["ocppVersion"] is None
    assert view["lastSeenAt"] is None
    assert view["evses"] == []
    for key in ("vendor", "model", "serialNumber", "firmwareVersion"):
        assert view[key] is None, f"{key} of a never-booted station should be null: {view!r}"
    assert password not in r.text, "the station view must never contain the password"
    assert "$argon2" not in r.text, "the station view must never contain the password hash"
    for key, value in view.items():
        if "password" in key.lower() or "hash" in key.lower():
            assert isinstance(value, bool) or value is None, f"{key} leaks credential material: {value!r}"

    got = runner.station(sid)
    assert got == view, "GET /stations/{id} should return the same view as the create"
    assert password not in runner.api("GET", f"/stations/{sid}").text


def test_create_station_minimal_body(runner):
    sid = unique("CP")
    view = runner.api_ok("POST", "/stations", {"id": sid}, status=201)
    assert view["id"] == sid
    assert view["name"] is None or isinstance(view["name"], str)
    assert view["connected"] is False


def test_list_stations_contains_created_and_never_passwords(runner):
    ids = {unique("CP") for _ in range(3)}
    for sid in ids:
        runner.create_station(sid, password="list-secret-123")
    items = list_all(runner, "/stations")
    listed = [s["id"] for s in items]
    assert ids <= set(listed), f"created stations missing from the list: {ids - set(listed)}"
    assert len(listed) == len(set(listed)), "a station appears twice across pages"
    for s in items:
        assert set(s) >= STATION_VIEW_KEYS, s
    assert "list-secret-123" not in runner.api("GET", "/stations").text


def test_unknown_station_is_404(runner):
    assert_error(runner.api("GET", f"/stations/{unique('nope')}"), 404)


@pytest.mark.parametrize("station_id", [
    "",
    "x" * 49,
    "has space",
    "semi;colon",
    "ümlaut",
    "star*",
    "quote'",
    "colon:1",
], ids=["empty", "49-chars", "space", "semicolon", "non-ascii", "star", "quote", "colon"])
def test_invalid_station_id_is_400(runner, station_id):
    assert_error(runner.api("POST", "/stations", {"id": station_id}), 400)


@pytest.mark.parametrize("make_id", [
    lambda: "x" * 38 + unique("")[1:],  # exactly 48 characters
    lambda: unique("A.b_c-9"),
    lambda: unique("cp.1"),
], ids=["48-chars", "all-allowed-punctuation", "dot"])
def test_valid_station_ids_are_accepted(runner, make_id):
    sid = make_id()
    assert len(sid) <= 48
    view = runner.api_ok("POST", "/stations", {"id": sid}, status=201)
    assert view["id"] == sid
    assert runner.station(sid)["id"] == sid


def test_duplicate_station_is_409(runner):
    sid = unique("CP")
    runner.create_station(sid)
    assert_error(runner.api("POST", "/stations", {"id": sid}), 409)
    assert_error(runner.api("POST", "/stations", {"id": sid, "password": "another-pass-1"}), 409)


@pytest.mark.parametrize("password,status", [
    ("x" * 7, 400),
    ("x" * 8, 201),
    ("x" * 64, 201),
    ("x" * 65, 400),
    ("", 400),
], ids=["7-chars", "8-chars", "64-chars", "65-chars", "empty"])
def test_station_password_length(runner, password, status):
    r = runner.api("POST", "/stations", {"id": unique("CP"), "password": password})
    if status == 201:
        assert r.status_code == 201, r.text
        assert password not in r.text
    else:
        assert_error(r, status)


@pytest.mark.parametrize("body", [
    "{not json",
    "",
    "[1, 2]",
    '{"id": 5}',
    "{}",
], ids=["broken-json", "empty-body", "array", "id-not-a-string", "id-missing"])
def test_invalid_station_body_is_400(runner, body):
    assert_error(runner.api("POST", "/stations", data=body), 400)


# --------------------------------------------------------------------------- id tokens

def test_create_id_token(runner):
    token = unique("TAG")
    r = runner.api("POST", "/id-tokens", {"idToken": token, "type": "ISO14443", "status": "Accepted"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["idToken"] == token
    assert body["type"] == "ISO14443"
    assert body["status"] == "Accepted"
    assert body.get("expiresAt", "missing") is None, f"expiresAt should be null when not given: {body!r}"


def test_create_id_token_with_expiry(runner):
    token = unique("TAG")
    expires = now_utc().replace(microsecond=0) + timedelta(days=30)
    body = runner.create_token(token, "Blocked", "eMAID", expires_at=iso(expires))
    assert body["status"] == "Blocked"
    assert body["type"] == "eMAID"
    assert parse_time(body["expiresAt"]) == expires


@pytest.mark.parametrize("token_type", TOKEN_TYPES)
def test_every_id_token_type_is_accepted(runner, token_type):
    # A MacAddress token is an EV's MAC (AutoCharge): 12 hex digits, stored normalised.
    value = f"{random.getrandbits(48):012X}" if token_type == "MacAddress" else unique("T")
    body = runner.create_token(value, "Accepted", token_type)
    assert body["type"] == token_type
    assert body["idToken"] == value


@pytest.mark.parametrize("status", TOKEN_STATUSES)
def test_every_id_token_status_is_accepted(runner, status):
    body = runner.create_token(unique("T"), status)
    assert body["status"] == status


@pytest.mark.parametrize("body", [
    {"idToken": "T-bad-type", "type": "Magnetic", "status": "Accepted"},
    {"idToken": "T-bad-type2", "type": "iso14443", "status": "Accepted"},
    {"idToken": "T-bad-status", "type": "ISO14443", "status": "Maybe"},
    {"idToken": "", "type": "ISO14443", "status": "Accepted"},
    {"idToken": "x" * 37, "type": "ISO14443", "status": "Accepted"},
    {"type": "ISO14443", "status": "Accepted"},
    {"idToken": "T-bad-expiry", "type": "ISO14443", "status": "Accepted", "expiresAt": "next tuesday"},
], ids=["unknown-type", "type-wrong-case", "unknown-status", "empty-token", "37-chars", "token-missing",
        "bad-expiresAt"])
def test_invalid_id_token_is_400(runner, body):
    assert_error(runner.api("POST", "/id-tokens", body), 400)


def test_id_token_of_36_chars_is_accepted(runner):
    token = ("T" + unique("")[1:] + "x" * 36)[:36]
    assert runner.create_token(token)["idToken"] == token


def test_invalid_id_token_json_is_400(runner):
    assert_error(runner.api("POST", "/id-tokens", data="{oops"), 400)


def test_duplicate_id_token_is_409(runner):
    token = unique("TAG")
    runner.create_token(token)
    assert_error(runner.api("POST", "/id-tokens", {"idToken": token, "type": "ISO14443", "status": "Blocked"}), 409)


def test_list_id_tokens(runner):
    tokens = {unique("TAG") for _ in range(3)}
    for t in tokens:
        runner.create_token(t, "Accepted", "KeyCode")
    items = list_all(runner, "/id-tokens")
    by_token = {i["idToken"]: i for i in items}
    assert tokens <= set(by_token), f"created tokens missing from the list: {tokens - set(by_token)}"
    for t in tokens:
        assert by_token[t]["type"] == "KeyCode" and by_token[t]["status"] == "Accepted", by_token[t]


# --------------------------------------------------------------------------- sessions (validation only; see the OCPP tests)

def test_sessions_list_shape(runner):
    page = runner.api_ok("GET", "/sessions")
    assert isinstance(page.get("items"), list) and "nextCursor" in page, page


def test_sessions_of_unknown_station_is_empty(runner):
    page = runner.api_ok("GET", "/sessions", params={"stationId": unique("nobody")})
    assert page["items"] == [], page


@pytest.mark.parametrize("params", [
    {"from": "yesterday"},
    {"to": "2026-13-45T99:00:00Z"},
], ids=["from-words", "to-impossible-date"])
def test_sessions_invalid_time_filter_is_400(runner, params):
    assert_error(runner.api("GET", "/sessions", params=params), 400)


def test_unknown_session_is_404(runner):
    sid = quote(f"{unique('CP')}~12345")
    assert_error(runner.api("GET", f"/sessions/{sid}"), 404)
    assert_error(runner.api("GET", f"/sessions/{sid}/meter-values"), 404)
