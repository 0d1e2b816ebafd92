"""Issue 17, access modes: who may charge at a station, and when, as chargers of both OCPP versions see it. A card of
another organisation is refused at a private station (Authorize, and the transaction's start) and the refusal is
listed with its reason; a schedule whose rule covers "now" in the site's time zone makes the station public and the
same card is accepted; a private station for some user groups refuses the organisation's other cards; a remote start
for another organisation's card is refused with 409 naming the reason. The `ocpp` library checks every answer against
the version's schema."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from csms_e2e import boot_accepted, assert_error, charger, iso, now_utc, quote, run, unique

VERSIONS = ["1.6", "2.0.1"]
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
ZONE = "Europe/Stockholm"


async def authorize(cp, version: str, value: str) -> str:
    if version == "1.6":
        return (await cp.send(call16.Authorize(id_tag=value))).id_tag_info["status"]
    return (await cp.send(call201.Authorize(id_token={"id_token": value, "type": "ISO14443"}))).id_token_info["status"]


async def start(cp, version: str, value: str) -> str:
    """The answer's status to a transaction started with `value` on EVSE (connector) 1."""
    if version == "1.6":
        result = await cp.send(call16.StartTransaction(
            connector_id=1, id_tag=value, meter_start=0, timestamp=iso(now_utc())))
        return result.id_tag_info["status"]
    result = await cp.send(call201.TransactionEvent(
        event_type="Started", timestamp=iso(now_utc()), trigger_reason="Authorized", seq_no=0,
        transaction_info={"transaction_id": unique("tx")[:36]}, evse={"id": 1, "connector_id": 1},
        id_token={"id_token": value, "type": "ISO14443"}))
    return result.id_token_info["status"]


def other_organisation(runner) -> str:
    return runner.create_organisation("org-b", legal_name="Laddbolaget B AB")


def card(runner, value: str, org: str | None = None, group: str | None = None) -> str:
    body = {"idToken": value, "type": "ISO14443", "status": "Accepted"}
    if group:
        body["group"] = group
    headers = {"X-Organisation": org} if org else None
    runner.api_ok("POST", "/id-tokens", body, status=201, headers=headers)
    return value


def public_now() -> dict:
    """Private by default, public all of today and tomorrow in the site's zone: a rule that covers now (also if
    the test runs across a local midnight)."""
    today = datetime.now(ZoneInfo(ZONE)).weekday()
    days = [DAYS[today], DAYS[(today + 1) % 7]]
    return {"default": "private", "rules": [{"days": days, "start": "00:00", "end": "24:00", "mode": "public"}]}


def attempts(runner, station: str) -> list[dict]:
    return runner.api_ok("GET", f"/stations/{quote(station)}/attempts", params={"limit": 50})["items"]


@pytest.mark.parametrize("version", VERSIONS)
def test_access_modes_on_a_schedule_refuse_and_admit_and_list_the_refusals(runner, version):
    org_b = other_organisation(runner)
    theirs = card(runner, unique("B")[:20], org=org_b)
    resident = card(runner, unique("RES")[:20], group="residents")
    guest = card(runner, unique("GST")[:20], group="guests")
    site = unique("acc-site").lower()
    runner.api_ok("POST", "/sites", {"id": site, "name": "Garage", "timeZone": ZONE,
                                     "address": {"street": "Gatan 1", "postalCode": "111 22", "city": "Stockholm"}},
                  status=201)
    cs = runner.create_station(unique(f"ACC{version.replace('.', '')}"), siteId=site)["id"]
    source = "StartTransaction" if version == "1.6" else "TransactionEvent"

    async def scenario():
        async with charger(runner, cs, version) as cp:
            await boot_accepted(cp, version)
            # No policy: private to the organisation, as before.
            assert runner.api_ok("GET", f"/stations/{quote(cs)}/access")["version"] == 0
            assert await authorize(cp, version, theirs) == "Invalid"
            assert await start(cp, version, theirs) == "Invalid"
            assert await authorize(cp, version, guest) == "Accepted"
            refused = attempts(runner, cs)
            assert [(a["source"], a["idToken"], a["reason"], a["mode"]) for a in refused] == [
                (source, theirs, "otherOrganisation", "private"),
                ("Authorize", theirs, "otherOrganisation", "private"),
            ], refused
            assert refused[0]["evseId"] == 1 and refused[1]["evseId"] is None, refused

            # A rule that makes it public now, in the site's zone: the same card is accepted.
            put = runner.api_ok("PUT", f"/stations/{quote(cs)}/access", public_now(), headers={"If-Match": "0"})
            assert put["version"] == 1, put
            now = runner.api_ok("GET", f"/stations/{quote(cs)}/access/now")
            assert now["mode"] == "public" and now["timeZone"] == ZONE and now["until"], now
            assert datetime.fromisoformat(now["until"].replace("Z", "+00:00")) > now_utc() + timedelta(hours=1), now
            assert await authorize(cp, version, theirs) == "Accepted"
            # Still nobody's card is refused: public needs a registered token until payment exists.
            assert await authorize(cp, version, unique("NOBODY")[:20]) == "Invalid"

            # Private for residents only.
            runner.api_ok("PUT", f"/stations/{quote(cs)}/access", {"default": "private", "groups": ["residents"]},
                          headers={"If-Match": "1"})
            assert await authorize(cp, version, resident) == "Accepted"
            assert await authorize(cp, version, guest) == "Invalid"
            assert attempts(runner, cs)[0]["reason"] == "groupNotAllowed"

            # A remote start for B's card: refused before anything reaches the charger.
            err = assert_error(runner.api("POST", f"/stations/{quote(cs)}/commands",
                                          {"type": "remoteStart", "idToken": theirs, "evseId": 1}),
                               409, "conflict")
            assert "otherOrganisation" in err["message"] and "private" in err["message"], err
            latest = attempts(runner, cs)[0]
            assert (latest["source"], latest["idToken"], latest["reason"]) == (
                "remoteStart", theirs, "otherOrganisation"), latest
            # The organisation's list, across its stations, has it first too.
            everywhere = runner.api_ok("GET", "/access-attempts", params={"limit": 5})["items"]
            assert everywhere[0] == latest, everywhere

    run(scenario())


def test_a_bad_schedule_is_refused_naming_the_field(runner):
    cs = runner.create_station(unique("ACCBAD"))["id"]
    overlapping = {"default": "public", "rules": [
        {"days": ["mon", "tue"], "start": "06:00", "end": "18:00", "mode": "private"},
        {"days": ["tue"], "start": "17:00", "end": "19:00", "mode": "semiPublic"}]}
    err = assert_error(runner.api("PUT", f"/stations/{quote(cs)}/access", overlapping), 400, "invalid_request")
    assert err["message"].startswith("rules[1]: overlaps rules[0]"), err
    backwards = {"default": "public", "rules": [{"days": ["mon"], "start": "22:00", "end": "06:00",
                                                  "mode": "private"}]}
    err = assert_error(runner.api("PUT", f"/stations/{quote(cs)}/access", backwards), 400, "invalid_request")
    assert err["message"].startswith("rules[0].end: must come after start"), err
