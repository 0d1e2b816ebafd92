"""Issue 17, point 3 (LaddID): the id token life cycle as chargers of both OCPP versions see it. A blocked token
is refused with Blocked and accepted again once unblocked; a token past its validTo is Expired, one before its
validFrom is not accepted (1.6 Invalid, 2.0.1 NotAtThisTime); the parent id is answered (1.6 parentIdTag, 2.0.1
groupIdToken); an AutoCharge MAC address (1.6 `VID:` idTag, 2.0.1 MacAddress token) matches the MacAddress token
registered in another spelling; an unknown card is listed under /unregistered-id-tokens and, registered from
there in one call, is accepted. The `ocpp` library checks every answer against the version's schema."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from csms_e2e import boot_accepted, charger, iso, now_utc, quote, run, unique

VERSIONS = ["1.6", "2.0.1"]


async def authorize(cp, version: str, value: str, kind: str = "ISO14443") -> dict:
    """The idTagInfo / idTokenInfo answered, keys as the library gives them (snake_case)."""
    if version == "1.6":
        return (await cp.send(call16.Authorize(id_tag=value))).id_tag_info
    return (await cp.send(call201.Authorize(id_token={"id_token": value, "type": kind}))).id_token_info


def station(runner, version: str) -> str:
    return runner.create_station(unique(f"LID{version.replace('.', '')}"))["id"]


def token(runner, value: str, **fields) -> dict:
    body = {"idToken": value, "type": "ISO14443", "status": "Accepted", **fields}
    return runner.api_ok("POST", "/id-tokens", body, status=201)


@pytest.mark.parametrize("version", VERSIONS)
def test_blocked_unblocked_expired_not_yet_valid_and_parent(runner, version):
    parented, expired, early = unique("PAR")[:20], unique("EXP")[:20], unique("EARLY")[:20]
    token(runner, parented, parentId="FLEET-7")
    token(runner, expired, validTo=iso(now_utc() - timedelta(minutes=1)))
    token(runner, early, validFrom=iso(now_utc() + timedelta(hours=1)))
    cs = station(runner, version)

    async def scenario():
        async with charger(runner, cs, version) as cp:
            await boot_accepted(cp, version)
            info = await authorize(cp, version, parented)
            assert info["status"] == "Accepted", info
            if version == "1.6":
                assert info["parent_id_tag"] == "FLEET-7", info
            else:
                assert info["group_id_token"] == {"id_token": "FLEET-7", "type": "Central"}, info

            blocked = runner.api_ok("POST", f"/id-tokens/{quote(parented)}/block", {"reason": "card reported lost"})
            assert blocked["status"] == "Blocked" and blocked["block"]["reason"] == "card reported lost", blocked
            assert blocked["block"]["by"] == "admin", blocked
            assert (await authorize(cp, version, parented))["status"] == "Blocked"

            unblocked = runner.api_ok("POST", f"/id-tokens/{quote(parented)}/unblock")
            assert unblocked["status"] == "Accepted" and unblocked["block"]["unblockedAt"], unblocked
            assert (await authorize(cp, version, parented))["status"] == "Accepted"

            assert (await authorize(cp, version, expired))["status"] == "Expired"
            expected = "Invalid" if version == "1.6" else "NotAtThisTime"
            assert (await authorize(cp, version, early))["status"] == expected

            # Made valid now through the API: accepted at once.
            runner.api_ok("PATCH", f"/id-tokens/{quote(early)}", {"validFrom": None})
            assert (await authorize(cp, version, early))["status"] == "Accepted"

    run(scenario())


@pytest.mark.parametrize("version", VERSIONS)
def test_an_autocharge_mac_address_matches_the_registered_mac_token(runner, version):
    mac = uuid.uuid4().hex[:12].upper()
    separated = ":".join(mac[i:i + 2] for i in range(0, 12, 2)).lower()
    made = runner.api_ok("POST", "/id-tokens", {"idToken": separated, "type": "MacAddress", "status": "Accepted"},
                         status=201)
    assert made["idToken"] == mac, made
    cs = station(runner, version)

    async def scenario():
        async with charger(runner, cs, version) as cp:
            await boot_accepted(cp, version)
            if version == "1.6":
                for tag in (f"VID:{mac}", f"vid:{mac.lower()}"):
                    assert (await authorize(cp, version, tag))["status"] == "Accepted", tag
            else:
                for value in (separated, mac, separated.replace(":", "-").upper()):
                    info = await authorize(cp, version, value, "MacAddress")
                    assert info["status"] == "Accepted", value

    run(scenario())
    listed = runner.api_ok("GET", "/unregistered-id-tokens", params={"limit": 500})["items"]
    assert mac not in [i["idToken"] for i in listed], "a registered MAC is not listed as unregistered"


@pytest.mark.parametrize("version", VERSIONS)
def test_an_unknown_card_is_listed_and_registered_in_one_call(runner, version):
    card = unique("NEW")[:20]
    cs = station(runner, version)

    async def scenario():
        async with charger(runner, cs, version) as cp:
            await boot_accepted(cp, version)
            assert (await authorize(cp, version, card, "ISO15693"))["status"] == "Invalid"

            listed = runner.api_ok("GET", "/unregistered-id-tokens", params={"limit": 500})["items"]
            seen = [i for i in listed if i["idToken"] == card]
            assert len(seen) == 1, listed
            assert seen[0]["stationId"] == cs and seen[0]["count"] == 1, seen
            assert seen[0]["type"] == (None if version == "1.6" else "ISO15693"), seen

            reg = runner.api_ok("POST", f"/unregistered-id-tokens/{quote(card)}/register",
                                {"status": "Accepted", "label": "new resident"}, status=201)
            assert reg["idToken"] == card and reg["label"] == "new resident", reg
            assert reg["type"] == ("ISO14443" if version == "1.6" else "ISO15693"), reg
            assert (await authorize(cp, version, card, "ISO15693"))["status"] == "Accepted"

            listed = runner.api_ok("GET", "/unregistered-id-tokens", params={"limit": 500})["items"]
            assert card not in [i["idToken"] for i in listed], listed
            assert runner.api_ok("GET", f"/id-tokens/{quote(card)}")["label"] == "new resident"

    run(scenario())
