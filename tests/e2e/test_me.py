"""Issue 17, a driver signs in and sees only their own things: an operator registers a card held by a driver (a person
with the `driver` role); a charger of either OCPP version starts and stops a transaction with it; the driver, signed
in with the cookie, finds the session in `/me/sessions` and the card in `/me/id-tokens`, while a session of another
card at the same station is not theirs (404, like one that does not exist) and the operator API is closed to them; the
driver rates the session and the operator reads the station's average without learning who rated."""

from __future__ import annotations

import pytest
import requests
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from csms_e2e import boot_accepted, assert_error, charger, iso, now_utc, poll, quote, run, unique

VERSIONS = ["1.6", "2.0.1"]


class Driver:
    """A browser of a signed-in person: the cookie jar and the CSRF token."""

    def __init__(self, runner, email: str, password: str):
        self.base = f"{runner.base_url}/api/v1"
        self.http = requests.Session()
        r = self.http.post(f"{self.base}/auth/sign-in", json={"email": email, "password": password}, timeout=10)
        assert r.status_code == 200, r.text
        self.csrf = r.json()["csrfToken"]

    def get(self, path: str, **params) -> requests.Response:
        return self.http.get(f"{self.base}{path}", params=params, headers={"X-CSRF-Token": self.csrf}, timeout=10)

    def put(self, path: str, body: dict) -> requests.Response:
        return self.http.put(f"{self.base}{path}", json=body, headers={"X-CSRF-Token": self.csrf}, timeout=10)


async def charge(cp, version: str, card: str, connector: int) -> str:
    """Starts and stops a transaction with `card` on `connector`: the charger's transaction id."""
    if version == "1.6":
        started = await cp.send(call16.StartTransaction(
            connector_id=connector, id_tag=card, meter_start=1000, timestamp=iso(now_utc())))
        assert started.id_tag_info["status"] == "Accepted", started
        await cp.send(call16.StopTransaction(
            transaction_id=started.transaction_id, meter_stop=8500, timestamp=iso(now_utc()), id_tag=card))
        return str(started.transaction_id)
    tx = unique("tx")[:36]
    token = {"id_token": card, "type": "ISO14443"}
    started = await cp.send(call201.TransactionEvent(
        event_type="Started", timestamp=iso(now_utc()), trigger_reason="Authorized", seq_no=0,
        transaction_info={"transaction_id": tx}, evse={"id": connector, "connector_id": 1}, id_token=token))
    assert started.id_token_info["status"] == "Accepted", started
    await cp.send(call201.TransactionEvent(
        event_type="Ended", timestamp=iso(now_utc()), trigger_reason="StopAuthorized", seq_no=1,
        transaction_info={"transaction_id": tx, "stopped_reason": "Local"}, id_token=token))
    return tx


@pytest.mark.parametrize("version", VERSIONS)
def test_a_driver_sees_the_sessions_of_their_card_and_nothing_else(runner, version):
    email = f"{unique('driver').lower()}@example.se"
    person = runner.api_ok("POST", "/users", {"email": email, "name": "Anna Andersson", "password": "driver-pass-123",
                                              "role": "driver"}, status=201)
    hers = unique("ANNA")[:20]
    runner.api_ok("POST", "/id-tokens", {"idToken": hers, "type": "ISO14443", "status": "Accepted",
                                         "userId": person["id"]}, status=201)
    other = unique("OTHER")[:20]
    runner.api_ok("POST", "/id-tokens", {"idToken": other, "type": "ISO14443", "status": "Accepted"}, status=201)
    # A holder who is nobody of the organisation is refused, naming the field.
    err = assert_error(runner.api("PATCH", f"/id-tokens/{quote(other)}", {"userId": "usr_01ARZ3NDEKTSV4RRFFQ69G5FAV"}),
                       400, "invalid_request")
    assert err["message"].startswith("userId:"), err
    cs = runner.create_station(unique(f"ME{version.replace('.', '')}"))["id"]

    async def scenario():
        async with charger(runner, cs, version) as cp:
            await boot_accepted(cp, version)
            mine = await charge(cp, version, hers, 1)
            theirs = await charge(cp, version, other, 2)
            return mine, theirs

    mine, theirs = run(scenario())
    driver = Driver(runner, email, "driver-pass-123")
    sessions = poll(lambda: driver.get("/me/sessions").json()["items"] or None, what="the driver's session")
    assert [(s["stationId"], s["transactionId"], s["idToken"]) for s in sessions] == [(cs, mine, hers)], sessions
    assert sessions[0]["status"] == "completed", sessions
    one = driver.get(f"/me/sessions/{quote(sessions[0]['id'])}")
    assert one.status_code == 200, one.text
    assert one.json()["session"]["id"] == sessions[0]["id"] and "price" in one.json(), one.text
    cards = driver.get("/me/id-tokens").json()["items"]
    assert [(c["idToken"], c["userId"]) for c in cards] == [(hers, person["id"])], cards

    # The other card's session at the same station is no more theirs than one that does not exist.
    others = runner.api_ok("GET", "/sessions", params={"stationId": cs})["items"]
    other_id = next(s["id"] for s in others if s["transactionId"] == theirs)
    assert_error(driver.get(f"/me/sessions/{quote(other_id)}"), 404, "not_found")
    assert_error(driver.get(f"/me/sessions/{quote(cs)}~nothing"), 404, "not_found")
    # She rates it; the operator sees the station's average, and no person.
    rated = driver.put(f"/me/sessions/{quote(sessions[0]['id'])}/rating", {"stars": 4, "comment": "Smidigt"})
    assert rated.status_code == 201, rated.text
    assert_error(driver.put(f"/me/sessions/{quote(other_id)}/rating", {"stars": 1}), 404, "not_found")
    ratings = runner.api_ok("GET", f"/stations/{quote(cs)}/ratings")
    assert (ratings["count"], ratings["average"], ratings["items"][0]["comment"]) == (1, "4.00", "Smidigt"), ratings
    assert person["id"] not in str(ratings), ratings
    # The operator API is not a driver's, and "me" is no key's.
    assert_error(driver.get("/sessions"), 403, "forbidden")
    assert_error(runner.api("GET", "/me/sessions"), 403, "forbidden")
