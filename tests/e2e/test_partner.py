"""A partner's view: API keys with scopes, and the session export, against the local runner."""

from __future__ import annotations

import csv
import io

from ocpp.v16 import call as call16

from csms_e2e import assert_error, charger, iso, now_utc, run, unique


def make_key(runner, scopes: list[str], name: str = "partner") -> dict:
    key = runner.api_ok("POST", "/api-keys", {"name": name, "scopes": scopes}, status=201)
    assert key["key"].startswith(f"csk_{key['id']}_"), key
    assert key["scopes"] == sorted(scopes, key=["read", "commands", "admin"].index), key
    return key


def test_scopes_decide_what_a_key_may_do(runner):
    station = unique("PK")
    runner.create_station(station)
    read = make_key(runner, ["read"])["key"]
    cmds = make_key(runner, ["commands"])["key"]

    assert runner.api("GET", "/stations", key=read).status_code == 200
    assert runner.api("GET", f"/stations/{station}/commands", key=read).status_code == 200
    assert_error(runner.api("POST", "/stations", {"id": unique("X")}, key=read), 403, "forbidden")
    assert_error(runner.api("POST", f"/stations/{station}/commands", {"type": "reset"}, key=read),
                 403, "forbidden")
    assert_error(runner.api("GET", "/api-keys", key=read), 403, "forbidden")

    # Commands implies read; the station is not connected, so the command is offline at once.
    r = runner.api("POST", f"/stations/{station}/commands", {"type": "reset"}, key=cmds)
    assert r.status_code == 200 and r.json()["status"] == "offline", r.text
    assert runner.api("GET", "/sessions", key=cmds).status_code == 200
    assert_error(runner.api("POST", "/id-tokens", {"idToken": "T1", "type": "ISO14443", "status": "Accepted"},
                            key=cmds), 403, "forbidden")


def test_keys_are_listed_without_secret_and_revoked(runner):
    key = make_key(runner, ["read", "admin"], name="billing system")
    listed = runner.api_ok("GET", "/api-keys")["items"]
    mine = [k for k in listed if k["id"] == key["id"]]
    assert len(mine) == 1 and "key" not in mine[0], "the secret is shown once only"
    assert mine[0]["name"] == "billing system" and mine[0]["revokedAt"] is None
    assert runner.api_ok("GET", f"/api-keys/{key['id']}")["scopes"] == ["read", "admin"]

    # An admin partner key may manage keys itself.
    other = runner.api_ok("POST", "/api-keys", {"name": "sub", "scopes": ["read"]}, status=201, key=key["key"])
    assert runner.api("DELETE", f"/api-keys/{other['id']}", key=key["key"]).status_code == 204

    assert runner.api("DELETE", f"/api-keys/{key['id']}").status_code == 204
    assert runner.api("DELETE", f"/api-keys/{key['id']}").status_code == 204, "revoking twice is fine"
    assert runner.api_ok("GET", f"/api-keys/{key['id']}")["revokedAt"] is not None
    assert_error(runner.api("GET", "/stations", key=key["key"]), 401, "unauthorized")
    assert_error(runner.api("DELETE", "/api-keys/01JDX3N6Q8Z4V7T2K9R5M1B0CE"), 404, "not_found")


def test_bad_keys_and_bad_requests(runner):
    good = make_key(runner, ["read"])["key"]
    kid = good.split("_")[1]
    for bad in [good[:-1] + ("A" if good[-1] != "A" else "B"), f"csk_{kid}_" + "x" * 32, "csk_nope", "", "x" * 40]:
        assert_error(runner.api("GET", "/stations", key=bad), 401, "unauthorized")
    assert_error(runner.api("POST", "/api-keys", {"name": "x", "scopes": ["superuser"]}), 400, "invalid_request")
    assert_error(runner.api("POST", "/api-keys", {"name": "x", "scopes": []}), 400, "invalid_request")
    assert_error(runner.api("POST", "/api-keys", {"name": " ", "scopes": ["read"]}), 400, "invalid_request")
    assert_error(runner.api("POST", "/api-keys", {"name": "x"}), 400, "invalid_request")


def test_export_sessions_as_csv_and_json(runner):
    station = unique("EXP")
    runner.create_station(station)
    runner.create_token("EXPTAG")
    t0 = now_utc().replace(microsecond=0)

    async def sessions():
        async with charger(runner, station, "1.6") as cp:
            for i, (start, stop) in enumerate([(1000, 8500), (8500, 9000)]):
                tx = (await cp.send(call16.StartTransaction(
                    connector_id=1, id_tag="EXPTAG", meter_start=start, timestamp=iso(t0)))).transaction_id
                await cp.send(call16.StopTransaction(
                    transaction_id=tx, meter_stop=stop, timestamp=iso(t0), reason="Local"))

    run(sessions())
    key = make_key(runner, ["read"])["key"]
    r = runner.api("GET", "/sessions/export", params={"format": "csv", "stationId": station}, key=key)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv"), r.text
    assert "attachment" in r.headers.get("content-disposition", "")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert sorted(int(x["energyWh"]) for x in rows) == [500, 7500], rows
    assert all(x["stationId"] == station and x["status"] == "completed" for x in rows)

    r = runner.api("GET", "/sessions/export", params={"format": "json", "stationId": station}, key=key)
    items = r.json()
    assert sorted(x["energyWh"] for x in items) == [500, 7500]
    assert_error(runner.api("GET", "/sessions/export", params={"format": "pdf"}), 400, "invalid_request")
    assert_error(runner.api("GET", "/sessions/export", params={"from": "yesterday"}), 400, "invalid_request")
