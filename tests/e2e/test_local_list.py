"""Issue 17 point 4: the station's local authorisation list kept in sync from the token registry, with chargers of
both OCPP versions that keep a real list (they apply Full and Differential SendLocalList and answer
GetLocalListVersion with their version). A sync request reads the station's limits and version and sends a Full
update split by items per message, holding the organisation's newest tokens up to the station's size limit (1.6
`LocalAuthListMaxLength`), a blocked token included as Blocked; blocking a token through the API sends a
Differential update with that entry, and so does an access policy that limits the station to a user group; a reconnect with another version gets a Full update, one with the right version
gets nothing. The `ocpp` library checks every message against the version's schema."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest
from ocpp.routing import on
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201

from csms_e2e import Charger16, Charger201, connect_ws, quote, run, unique

VERSIONS = ["1.6", "2.0.1"]


class ListKeeping:
    """A station's local list: entries by token value → status, its version, and every update received as
    (updateType, version, [(token, status or None)])."""

    def init_list(self, version: int = 0, entries: dict | None = None):
        self.list_version = version
        self.entries: dict[str, str] = dict(entries or {})
        self.updates: list[tuple[str, int, list[tuple[str, str | None]]]] = []

    def apply(self, update_type: str, version: int, changes: list[tuple[str, str | None]]):
        if update_type == "Full":
            self.entries = {}
        for token, status in changes:
            if status is None:
                self.entries.pop(token, None)
            else:
                self.entries[token] = status
        self.list_version = version
        self.updates.append((update_type, version, changes))


class List16(ListKeeping, Charger16):
    max_length = "3"
    per_message = "2"

    @on("GetConfiguration")
    async def on_get_configuration(self, key=None, **kw):
        known = {"LocalAuthListMaxLength": self.max_length, "SendLocalListMaxLength": self.per_message}
        asked = key or list(known)
        return result16.GetConfiguration(
            configuration_key=[{"key": k, "readonly": True, "value": known[k]} for k in asked if k in known],
            unknown_key=[k for k in asked if k not in known] or None)

    @on("GetLocalListVersion")
    async def on_get_local_list_version(self, **kw):
        return result16.GetLocalListVersion(list_version=self.list_version)

    @on("SendLocalList")
    async def on_send_local_list(self, list_version, update_type, local_authorization_list=None, **kw):
        changes = [(e["id_tag"], (e.get("id_tag_info") or {}).get("status"))
                   for e in local_authorization_list or []]
        assert len(changes) <= int(self.per_message), changes
        self.apply(update_type, list_version, changes)
        return result16.SendLocalList(status="Accepted")


class List201(ListKeeping, Charger201):
    per_message = "2"

    @on("GetVariables")
    async def on_get_variables(self, get_variable_data, **kw):
        results = []
        for d in get_variable_data:
            ours = d["component"]["name"] == "LocalAuthListCtrlr" and d["variable"]["name"] == "ItemsPerMessage"
            results.append({"attribute_status": "Accepted" if ours else "UnknownVariable",
                            "component": d["component"], "variable": d["variable"],
                            **({"attribute_value": self.per_message} if ours else {})})
        return result201.GetVariables(get_variable_result=results)

    @on("GetLocalListVersion")
    async def on_get_local_list_version(self, **kw):
        return result201.GetLocalListVersion(version_number=self.list_version)

    @on("SendLocalList")
    async def on_send_local_list(self, version_number, update_type, local_authorization_list=None, **kw):
        assert version_number > 0, version_number
        changes = [(e["id_token"]["id_token"], (e.get("id_token_info") or {}).get("status"))
                   for e in local_authorization_list or []]
        assert len(changes) <= int(self.per_message), changes
        self.apply(update_type, version_number, changes)
        return result201.SendLocalList(status="Accepted")


@contextlib.asynccontextmanager
async def keeping_charger(runner, station: str, version: str, list_version: int = 0, entries: dict | None = None):
    sub = "ocpp1.6" if version == "1.6" else "ocpp2.0.1"
    ws = await connect_ws(runner.ws_url(station), [sub])
    cls = List16 if version == "1.6" else List201
    cp = cls(station, ws, response_timeout=10)
    cp.init_list(list_version, entries)
    task = asyncio.create_task(cp.start())
    try:
        if version == "1.6":
            boot = await cp.send(call16.BootNotification(charge_point_vendor="Acme", charge_point_model="LL-16"))
        else:
            boot = await cp.send(call201.BootNotification(
                reason="PowerUp", charging_station={"model": "LL-201", "vendor_name": "Acme"}))
        assert boot.status == "Accepted", boot
        yield cp
    finally:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        await ws.close()


async def until(check, what: str, timeout: float = 15.0):
    """Poll `check` (run off the event loop: it may call the API) until it returns a true value."""
    deadline = time.monotonic() + timeout
    while True:
        got = await asyncio.to_thread(check)
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


def organisation(runner) -> str:
    return runner.create_organisation("org-ll", legal_name="Lista AB")


@pytest.mark.parametrize("version", VERSIONS)
def test_local_list_sync_full_differential_and_after_a_reconnect(runner, version):
    org = organisation(runner)
    h = {"X-Organisation": org}
    station = unique(f"LL{version.replace('.', '')}")
    runner.api_ok("POST", "/stations", {"id": station}, status=201, headers=h)
    # Registered in this order: the newest last. B1 is blocked.
    tags = [unique(p)[:20] for p in ("A1", "A2", "A3", "B1")]
    a1, a2, a3, b1 = tags
    for t in tags:
        body = {"idToken": t, "type": "ISO14443", "status": "Accepted"}
        if t == a1:
            body["group"] = "staff"
        runner.api_ok("POST", "/id-tokens", body, status=201, headers=h)
        time.sleep(0.02)
    runner.api_ok("POST", f"/id-tokens/{quote(b1)}/block", {"reason": "lost card"}, headers=h)
    # Another organisation's token never reaches this list.
    runner.api_ok("POST", "/id-tokens", {"idToken": unique("X")[:20], "type": "ISO14443", "status": "Accepted"},
                  status=201)
    path = f"/stations/{quote(station)}/local-list"

    def state():
        return runner.api_ok("GET", path, headers=h)

    if version == "1.6":
        # Limit 3: the three most recently changed (B1 was blocked last, then A3, A2).
        expected = {a2: "Accepted", a3: "Accepted", b1: "Blocked"}
    else:
        # No size limit said (its device model has none): the default 100 holds all four.
        expected = {a1: "Accepted", a2: "Accepted", a3: "Accepted", b1: "Blocked"}

    async def scenario():
        async with keeping_charger(runner, station, version) as cp:
            assert state()["enabled"] is False
            before = len(cp.updates)
            await asyncio.sleep(0.5)
            assert len(cp.updates) == before == 0, "a list is only kept once asked for"

            r = await asyncio.to_thread(runner.api_ok, "POST", f"{path}/sync", None, 202, headers=h)
            assert r["enabled"] is True and r["fullUpdateDue"] is True, r
            await until(lambda: state()["inSync"], "the first sync")
            assert cp.entries == expected, cp.entries
            first = cp.updates
            assert first[0][0] == "Full" and first[0][1] >= 1, first
            assert [u[0] for u in first[1:]] == ["Differential"] * (len(first) - 1), first
            assert [len(u[2]) for u in first] == ([2, 1] if version == "1.6" else [2, 2]), first
            s = state()
            assert s["version"] == cp.list_version and s["size"] == len(expected), s
            assert s["itemsPerMessage"] == 2 and s["lastOutcome"]["result"] == "accepted", s
            assert s["limit"] == (3 if version == "1.6" else 100), s
            assert s["limitFromStation"] is (version == "1.6"), s

            # Blocking a token: one Differential update with that entry, Blocked.
            n = len(cp.updates)
            await asyncio.to_thread(runner.api_ok, "POST", f"/id-tokens/{quote(a3)}/block",
                                    {"reason": "stolen"}, headers=h)
            await until(lambda: len(cp.updates) > n and state()["inSync"], "the differential update")
            assert cp.updates[n:] == [("Differential", cp.updates[n - 1][1] + 1, [(a3, "Blocked")])], cp.updates
            assert cp.entries[a3] == "Blocked"

            # Private for the staff group: the list follows the access policy (only A1 is staff).
            n = len(cp.updates)
            await asyncio.to_thread(runner.api_ok, "PUT", f"/stations/{quote(station)}/access",
                                    {"default": "private", "groups": ["staff"]},
                                    headers={**h, "If-Match": "0"})
            await until(lambda: len(cp.updates) > n and state()["inSync"], "the update after the policy change")
            assert [u[0] for u in cp.updates[n:]] == ["Differential"] * (len(cp.updates) - n), cp.updates
            assert cp.entries == {a1: "Accepted"}, cp.entries
            kept_version = cp.list_version
            kept_entries = dict(cp.entries)

        # Reconnect with another version (and an emptied list): a Full update.
        async with keeping_charger(runner, station, version, list_version=kept_version + 40) as cp:
            await until(lambda: cp.updates and state()["inSync"], "the full update after a mismatch")
            assert cp.updates[0][0] == "Full", cp.updates
            assert cp.entries == kept_entries, cp.entries
            assert state()["version"] == cp.list_version
            kept_version = cp.list_version
            kept_entries = dict(cp.entries)

        # Reconnect with the right version and list: it is asked, and nothing is sent.
        async with keeping_charger(runner, station, version, list_version=kept_version,
                                   entries=kept_entries) as cp:
            await until(lambda: (state().get("lastOutcome") or {}).get("result") == "versionChecked",
                        "the version check")
            await asyncio.sleep(0.5)
            assert cp.updates == [], cp.updates
            assert state()["inSync"] is True

    run(scenario())


def test_another_organisation_neither_sees_nor_syncs_the_list(runner):
    org = organisation(runner)
    station = unique("LLX")
    runner.api_ok("POST", "/stations", {"id": station}, status=201, headers={"X-Organisation": org})
    for method, p in [("GET", ""), ("POST", "/sync")]:
        r = runner.api(method, f"/stations/{quote(station)}/local-list{p}")
        assert r.status_code == 404, (method, r.status_code, r.text)
