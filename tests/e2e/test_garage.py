"""Issue 17.3, an e-mail identity for a private garage charger used by one person: an admin binds a member of the
organisation to a station (`PUT /stations/{id}/garage-identity`); the station then starts without a card — a 2.0.1
`TransactionEvent Started` with no id token and one with a `NoAuthorization` token, a 1.6 StartTransaction with the
free-vend idTag the charger was configured with — and each session is the person's: recorded for their `EMail`
identifier, priced with the station's tariff, in their `/me/sessions`. A card of the organisation still charges as
itself; a charger presenting the `EMail` identifier itself is refused; bad input is a 400 naming the field."""

from __future__ import annotations

import pytest
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from csms_e2e import assert_error, boot_accepted, charger, iso, now_utc, poll, quote, run, unique
from test_me import Driver

PASSWORD = "garage-pass-123"


@pytest.fixture(scope="module")
def world(runner):
    """A station per OCPP version with a tariff of 2 SEK/kWh, a driver with a garage at each, and a card."""
    tariff = runner.api_ok("POST", "/tariffs", {"name": "Garage", "elements": [
        {"components": [{"type": "energy", "price": {"kind": "fixed", "perKwh": "2.00"}}]}]}, status=201)
    email = f"{unique('garage').lower()}@example.se"
    person = runner.api_ok("POST", "/users", {"email": email, "name": "Gustav Garage", "password": PASSWORD,
                                              "role": "driver"}, status=201)
    stations = {}
    for version in ("1.6", "2.0.1"):
        cs = runner.create_station(unique(f"GAR{version.replace('.', '')}"))["id"]
        runner.api_ok("POST", "/tariff-assignments", {"tariffId": tariff["id"],
                                                      "target": {"kind": "station", "id": cs}}, status=201)
        stations[version] = cs
    card = unique("CARD")[:20]
    runner.api_ok("POST", "/id-tokens", {"idToken": card, "type": "ISO14443", "status": "Accepted"}, status=201)
    return {"person": person, "email": email, "stations": stations, "card": card}


def test_binding_is_checked_field_by_field(runner, world):
    cs = world["stations"]["1.6"]
    path = f"/stations/{quote(cs)}/garage-identity"
    assert_error(runner.api("GET", path), 404, "not_found")
    for body, field in ((({"userId": "nobody"}), "userId"),
                        ({"userId": "usr_01ARZ3NDEKTSV4RRFFQ69G5FAV"}, "userId"),
                        ({"userId": world["person"]["id"], "freeVendIdTag": "X" * 21}, "freeVendIdTag"),
                        ({"userId": world["person"]["id"], "freeVendIdTag": world["card"]}, "freeVendIdTag")):
        err = assert_error(runner.api("PUT", path, body), 400, "invalid_request")
        assert err["message"].startswith(f"{field}:"), (body, err)
    # An EMail identifier is made by the binding, not registered by hand.
    err = assert_error(runner.api("POST", "/id-tokens", {"idToken": world["email"], "type": "EMail",
                                                         "status": "Accepted"}), 400, "invalid_request")
    assert err["message"].startswith("type:"), err
    # Another organisation's key does not find the station.
    org_b = runner.create_organisation("garb")
    key_b = runner.api_ok("POST", "/api-keys", {"name": unique("b"), "scopes": ["admin"]}, status=201,
                          headers={"X-Organisation": org_b})["key"]
    assert_error(runner.api("PUT", path, {"userId": world["person"]["id"]}, key=key_b), 404, "not_found")


def bind(runner, world, version: str, free_vend: str | None = None) -> dict:
    body = {"userId": world["person"]["id"]} | ({"freeVendIdTag": free_vend} if free_vend else {})
    made = runner.api_ok("PUT", f"/stations/{quote(world['stations'][version])}/garage-identity", body,
                         headers={"If-Match": "0"})
    assert made["idToken"] == world["email"] and made["userId"] == world["person"]["id"], made
    return made


def test_a_2_0_1_garage_station_starts_for_its_person_without_a_card(runner, world):
    cs = world["stations"]["2.0.1"]
    bind(runner, world, "2.0.1")
    token = runner.api_ok("GET", f"/id-tokens/{quote(world['email'])}")
    assert (token["type"], token["userId"]) == ("EMail", world["person"]["id"]), token

    async def scenario():
        async with charger(runner, cs, "2.0.1") as cp:
            await boot_accepted(cp, "2.0.1")
            txs = []
            for n, id_token in enumerate((None, {"id_token": "", "type": "NoAuthorization"})):
                tx = unique("gtx")[:36]
                started = await cp.send(call201.TransactionEvent(
                    event_type="Started", timestamp=iso(now_utc()), trigger_reason="CablePluggedIn", seq_no=0,
                    transaction_info={"transaction_id": tx}, evse={"id": 1, "connector_id": 1}, id_token=id_token,
                    meter_value=[{"timestamp": iso(now_utc()), "sampled_value": [
                        {"value": 1000, "measurand": "Energy.Active.Import.Register"}]}]))
                assert started.id_token_info["status"] == "Accepted", (n, started)
                await cp.send(call201.TransactionEvent(
                    event_type="Ended", timestamp=iso(now_utc()), trigger_reason="EVDeparted", seq_no=1,
                    transaction_info={"transaction_id": tx, "stopped_reason": "EVDisconnected"},
                    meter_value=[{"timestamp": iso(now_utc()), "sampled_value": [
                        {"value": 6000, "measurand": "Energy.Active.Import.Register",
                         "context": "Transaction.End"}]}]))
                txs.append(tx)
            # The EMail identifier presented by a charger is no card.
            refused = await cp.send(call201.Authorize(id_token={"id_token": world["email"], "type": "Central"}))
            assert refused.id_token_info["status"] == "Invalid", refused
            return txs

    txs = run(scenario())
    assert_the_persons(runner, world, cs, txs)


def test_a_1_6_garage_station_starts_for_its_person_with_its_free_vend_tag(runner, world):
    cs = world["stations"]["1.6"]
    bind(runner, world, "1.6", free_vend="FREEVEND")

    async def scenario():
        async with charger(runner, cs, "1.6") as cp:
            await boot_accepted(cp, "1.6")
            started = await cp.send(call16.StartTransaction(
                connector_id=1, id_tag="freevend", meter_start=1000, timestamp=iso(now_utc())))
            assert started.id_tag_info["status"] == "Accepted", started
            await cp.send(call16.StopTransaction(transaction_id=started.transaction_id, meter_stop=6000,
                                                 timestamp=iso(now_utc()), id_tag="FREEVEND"))
            # A card of the organisation still charges as itself there.
            own = await cp.send(call16.StartTransaction(
                connector_id=1, id_tag=world["card"], meter_start=6000, timestamp=iso(now_utc())))
            assert own.id_tag_info["status"] == "Accepted", own
            await cp.send(call16.StopTransaction(transaction_id=own.transaction_id, meter_stop=7000,
                                                 timestamp=iso(now_utc()), id_tag=world["card"]))
            # Another tag is not the free-vend one.
            other = await cp.send(call16.StartTransaction(
                connector_id=1, id_tag="NOTFREE", meter_start=7000, timestamp=iso(now_utc())))
            assert other.id_tag_info["status"] == "Invalid", other
            return [str(started.transaction_id)], str(own.transaction_id)

    txs, own = run(scenario())
    assert_the_persons(runner, world, cs, txs)
    sessions = runner.api_ok("GET", "/sessions", params={"stationId": cs})["items"]
    card_session = next(s for s in sessions if s["transactionId"] == own)
    assert card_session["idToken"] == world["card"], card_session
    # The free-vend tag is the station's, not a card seen and not registered.
    seen = runner.api_ok("GET", "/unregistered-id-tokens")["items"]
    assert "FREEVEND" not in {s["idToken"].upper() for s in seen}, seen
    # Unbound, the station no longer starts for anyone with it; the identifier stays.
    path = f"/stations/{quote(cs)}/garage-identity"
    assert runner.api("DELETE", path).status_code == 204
    assert_error(runner.api("DELETE", path), 404, "not_found")
    assert runner.api_ok("GET", f"/id-tokens/{quote(world['email'])}")["type"] == "EMail"


def assert_the_persons(runner, world, station: str, txs: list[str]) -> None:
    """The sessions `txs` of `station` are the person's: their EMail identifier, in /me/sessions, priced 5 kWh × 2."""
    driver = Driver(runner, world["email"], PASSWORD)
    mine = poll(lambda: [s for s in driver.get("/me/sessions", limit=50).json()["items"]
                         if s["stationId"] == station] or None, what="the person's sessions")
    assert sorted(s["transactionId"] for s in mine) == sorted(txs), mine
    assert {s["idToken"] for s in mine} == {world["email"]}, mine
    for s in mine:
        priced = poll(lambda: driver.get(f"/me/sessions/{quote(s['id'])}").json().get("price"),
                      what="the session's price")
        assert priced["net"] == "10.00", priced
