"""Load balancing end to end: a site with a 32 A fuse per phase and five simulated chargers (three OCPP 1.6, two
2.0.1, `ocpp` library, which validates every SetChargingProfile against the official schemas) starting sessions
one after another.

Every charger keeps the profiles it was sent the way a charger does (per EVSE: TxDefaultProfile, and the
TxProfile of the running transaction, which takes precedence). After every profile any charger receives, the
test adds up the TxProfiles in force on each grid phase: that sum must never pass 32 A. The balancer sends
decreases first and raises only after they are accepted, which is what keeps it true while the shares move.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

from ocpp.routing import on
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201

from csms_e2e import Charger16, Charger201, connect_ws, iso, now_utc, poll, run, unique

FUSE = Decimal(32)
SUBPROTOCOL = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1"}


class Site:
    """What every charger of the site holds, and the invariant checked at each change."""

    def __init__(self):
        self.chargers: list = []
        self.violations: list[str] = []
        self.received = 0

    def tx_profile_sum(self) -> Decimal:
        return sum((c.tx_limit() or Decimal(0)) for c in self.chargers)

    def check(self, who: str):
        self.received += 1
        total = self.tx_profile_sum()
        if total > FUSE:
            self.violations.append(f"after a profile to {who}: TxProfiles add up to {total} A")


def _profiles(base, version: str):
    results = result16 if version == "1.6" else result201

    class Balanced(base):
        def __init__(self, *a, site: Site, **kw):
            super().__init__(*a, **kw)
            self.site = site
            self.default: Decimal | None = None
            self.tx: tuple[str, Decimal] | None = None  # (transaction id, limit)
            self.transaction: str | None = None
            self.profiles: list[dict] = []
            self.station_max: Decimal | None = None

        def tx_limit(self) -> Decimal | None:
            if self.tx and self.tx[0] == self.transaction:
                return self.tx[1]
            return None

        def effective(self) -> Decimal | None:
            """What the running transaction may draw: its TxProfile, else the default, never above the
            station's own limit."""
            if self.transaction is None:
                return None
            limit = self.tx_limit() if self.tx_limit() is not None else self.default
            if limit is not None and self.station_max is not None:
                limit = min(limit, self.station_max)
            return limit

        def _take(self, profile: dict, evse: int):
            purpose = profile["chargingProfilePurpose"]
            if purpose in ("ChargePointMaxProfile", "ChargingStationMaxProfile"):
                assert evse == 0, f"station limit for EVSE {evse}"
                schedule = profile["chargingSchedule"]
                schedule = schedule[0] if isinstance(schedule, list) else schedule
                self.station_max = Decimal(str(schedule["chargingSchedulePeriod"][0]["limit"]))
                self.site.check(self.id)
                return
            assert evse == 1, f"profile for EVSE {evse}"
            schedule = profile["chargingSchedule"]
            if isinstance(schedule, list):
                schedule = schedule[0]
            assert schedule["chargingRateUnit"] == "A"
            limit = Decimal(str(schedule["chargingSchedulePeriod"][0]["limit"]))
            self.phases = schedule["chargingSchedulePeriod"][0].get("numberPhases")
            self.profiles.append({"purpose": purpose, "limit": limit, "phases": self.phases,
                                  "tx": profile.get("transactionId")})
            if purpose == "TxDefaultProfile":
                self.default = limit
            elif purpose == "TxProfile":
                self.tx = (str(profile["transactionId"]), limit)
            self.site.check(self.id)

        async def route_message(self, raw_msg):
            msg = json.loads(raw_msg)
            if isinstance(msg, list) and msg and msg[0] == 2 and msg[2] == "SetChargingProfile":
                p = msg[3]
                if "csChargingProfiles" in p:
                    self._take(p["csChargingProfiles"], p["connectorId"])
                else:
                    self._take(p["chargingProfile"], p["evseId"])
            return await super().route_message(raw_msg)

    @on("SetChargingProfile")
    async def on_set_charging_profile(self, **kw):
        return results.SetChargingProfile(status="Accepted")

    @on("ClearChargingProfile")
    async def on_clear_charging_profile(self, **kw):
        return results.ClearChargingProfile(status="Accepted")

    Balanced.on_set_charging_profile = on_set_charging_profile
    Balanced.on_clear_charging_profile = on_clear_charging_profile
    return Balanced


Balanced16 = _profiles(Charger16, "1.6")
Balanced201 = _profiles(Charger201, "2.0.1")


async def connect(runner, site: Site, station: str, version: str):
    ws = await connect_ws(runner.ws_url(station), [SUBPROTOCOL[version]])
    cls = Balanced16 if version == "1.6" else Balanced201
    cp = cls(station, ws, site=site, response_timeout=10)
    cp.version = version
    cp.ws = ws
    cp.task = asyncio.create_task(cp.start())
    if version == "1.6":
        await cp.send(call16.BootNotification(charge_point_vendor="Acme", charge_point_model="LB"))
        await cp.send(call16.StatusNotification(connector_id=1, error_code="NoError", status="Available"))
    else:
        await cp.send(call201.BootNotification(charging_station={"vendor_name": "Acme", "model": "LB"},
                                               reason="PowerUp"))
        await cp.send(call201.StatusNotification(timestamp=iso(now_utc()), connector_status="Available",
                                                 evse_id=1, connector_id=1))
    site.chargers.append(cp)
    return cp


async def start(cp, tag: str):
    if cp.version == "1.6":
        r = await cp.send(call16.StartTransaction(connector_id=1, id_tag=tag, meter_start=0,
                                                  timestamp=iso(now_utc())))
        cp.transaction = str(r.transaction_id)
    else:
        tx = unique("TX")
        await cp.send(call201.TransactionEvent(
            event_type="Started", timestamp=iso(now_utc()), trigger_reason="Authorized", seq_no=0,
            transaction_info={"transaction_id": tx, "charging_state": "Charging"},
            evse={"id": 1, "connector_id": 1}, id_token={"id_token": tag, "type": "ISO14443"}))
        cp.transaction = tx


async def stop(cp):
    if cp.version == "1.6":
        await cp.send(call16.StopTransaction(transaction_id=int(cp.transaction), meter_stop=1000,
                                             timestamp=iso(now_utc())))
    else:
        await cp.send(call201.TransactionEvent(
            event_type="Ended", timestamp=iso(now_utc()), trigger_reason="StopAuthorized", seq_no=1,
            transaction_info={"transaction_id": cp.transaction, "stopped_reason": "Local"},
            evse={"id": 1, "connector_id": 1}))
    cp.transaction = None


async def draw(cp, amps: str):
    """The car reports drawing `amps` on each phase."""
    sampled = [{"value": amps, "measurand": "Current.Import", "phase": p, "unit": "A"} for p in ("L1", "L2", "L3")]
    assert cp.version == "1.6"
    await cp.send(call16.MeterValues(connector_id=1, transaction_id=int(cp.transaction),
                                     meter_value=[{"timestamp": iso(now_utc()), "sampled_value": sampled}]))


def allocation(runner, site_id: str) -> dict:
    return runner.api_ok("GET", f"/sites/{site_id}/load/allocation")


async def settled(runner, site_id: str, site: Site, expect: dict[str, Decimal], what: str):
    """Waits until every charger holds the limit `expect` names for it (by station), all accepted."""

    def done():
        for cp in site.chargers:
            if cp.id in expect and cp.effective() != expect[cp.id]:
                return None
        # The balancer writes its state once the chargers have answered: read it after them.
        a = allocation(runner, site_id)
        for e in a["evses"]:
            if e["stationId"] in expect:
                p = e.get("profile")
                if not p or p["status"] != "accepted" or Decimal(p["limitA"]) != expect[e["stationId"]]:
                    return None
        pending = [e for e in a["evses"] for p in (e.get("profile"), e.get("defaultProfile"))
                   if p and p["status"] == "pending" and e["connected"]]
        return None if pending else a

    try:
        return await asyncio.to_thread(poll, done, timeout=15, what=what)
    except AssertionError:
        got = {cp.id: cp.effective() for cp in site.chargers}
        raise AssertionError(f"{what}: expected {expect}, chargers hold {got}; "
                             f"allocation {json.dumps(allocation(runner, site_id))[:3000]}") from None


def effective_sum(site: Site) -> Decimal:
    return sum((cp.effective() or Decimal(0)) for cp in site.chargers if cp.transaction)


def test_five_chargers_share_a_32_a_fuse(runner):
    site_id = unique("BRF")
    versions = ["1.6", "2.0.1", "1.6", "2.0.1", "1.6"]
    stations = [unique(f"LB{i}") for i in range(5)]
    for s in stations:
        runner.create_station(s, siteId=site_id)
    runner.create_token("LB-TAG")
    config = {
        "gridFuseA": {"l1": 32, "l2": 32, "l3": 32},
        "mode": "trueDynamic",
        "headroomA": 1,
        "settleSeconds": 1,
        "evses": [{"stationId": s, "evseId": 1, "maxA": 32} for s in stations],
    }
    put = runner.api_ok("PUT", f"/sites/{site_id}/load", config)
    assert put["version"] == 1 and put["config"]["evses"][0]["minA"] in (6, "6", 6.0)

    async def scenario():
        site = Site()
        cps = []
        for s, v in zip(stations, versions):
            cps.append(await connect(runner, site, s, v))
        # Nobody charges: each idle EVSE holds its share of the spare room, 32 A over five EVSEs in
        # whole amperes.
        await asyncio.to_thread(poll, lambda: all(cp.default == Decimal(6) for cp in cps),
                                timeout=15, what="default profiles of 6 A")

        expected_alone = {1: "32", 2: "16", 3: "10.6"}
        for n in range(3):
            await start(cps[n], "LB-TAG")
            want = {cp.id: Decimal(expected_alone[n + 1]) for cp in cps[: n + 1]}
            await settled(runner, site_id, site, want, f"{n + 1} car(s) charging")
            assert effective_sum(site) <= FUSE

        # The first car only draws 4 A: it is capped at its minimum (6 A, above 4 + 1 headroom)
        # and the other two share what it leaves.
        await asyncio.sleep(1.2)  # past settleSeconds
        await draw(cps[0], "4.0")
        a = await settled(runner, site_id, site,
                          {cps[0].id: Decimal(6), cps[1].id: Decimal(13), cps[2].id: Decimal(13)},
                          "reallocation after car 1 draws less")
        first = next(e for e in a["evses"] if e["stationId"] == cps[0].id)
        assert first["reason"]["kind"] == "demand", json.dumps(a)
        assert Decimal(first["measuredA"]["l1"]) == 4
        assert effective_sum(site) <= FUSE

        for n in (3, 4):
            await start(cps[n], "LB-TAG")
            await asyncio.sleep(0.2)
        # Car 1 keeps 6 A; four cars share 26 A.
        await settled(runner, site_id, site,
                      {cps[0].id: Decimal(6), **{cp.id: Decimal("6.5") for cp in cps[1:]}},
                      "five cars charging")
        assert effective_sum(site) <= FUSE
        a = allocation(runner, site_id)
        assert Decimal(str(a["allocatedA"]["l1"])) <= FUSE, a
        reasons = {e["stationId"]: e["reason"]["kind"] for e in a["evses"]}
        assert reasons[cps[0].id] == "demand"
        assert all(reasons[cp.id] == "fairShare" for cp in cps[1:]), reasons
        # Each station also holds its own limit (ChargePointMaxProfile / ChargingStationMaxProfile, on
        # EVSE 0), the sum of its EVSEs' limits: a TxProfile someone else sets cannot lift it.
        await asyncio.to_thread(poll, lambda: all(cp.station_max == cp.tx_limit() for cp in cps),
                                timeout=15, what="station limits equal to the EVSE limits")
        a = allocation(runner, site_id)
        limits = {s["stationId"]: Decimal(s["profile"]["limitA"]) for s in a["stationLimits"]}
        assert limits == {cp.id: cp.tx_limit() for cp in cps}, a["stationLimits"]

        # Car 5's charger loses its connection: it keeps its TxProfile (6.5 A) and, for any new
        # session, its default of 6.4 A — the balancer holds 6.5 A for it and never hands that out.
        gone = cps[4]
        gone.task.cancel()
        await gone.ws.close()

        def offline():
            a = allocation(runner, site_id)
            e = next(e for e in a["evses"] if e["stationId"] == gone.id)
            return a if e["state"] == "offline" and "offline" in (e["explanation"] or "") else None

        a = await asyncio.to_thread(poll, offline, timeout=15, what="station shown offline")
        e = next(e for e in a["evses"] if e["stationId"] == gone.id)
        assert Decimal(str(e["currentA"])) == Decimal("6.5"), e
        assert "offline" in e["explanation"]
        assert gone.default * 5 <= FUSE

        # Car 2 leaves: its 6.5 A goes to cars 3 and 4, never to the offline station's share.
        await stop(cps[1])
        await settled(runner, site_id, site,
                      {cps[0].id: Decimal(6), cps[2].id: Decimal("9.7"), cps[3].id: Decimal("9.7")},
                      "car 2 left")
        on_line = sum(cp.effective() for cp in (cps[0], cps[2], cps[3]))
        assert on_line + gone.tx_limit() <= FUSE, on_line

        for cp in cps[:4]:
            cp.task.cancel()
            await cp.ws.close()
        return site

    site = run(scenario(), timeout=150)
    assert site.received >= 15, site.received
    assert not site.violations, site.violations


def test_configuration_is_checked_and_versioned(runner):
    site_id = unique("SITE")
    other = unique("ELSEWHERE")
    station = unique("LBC")
    stranger = unique("LBX")
    runner.create_station(station, siteId=site_id)
    runner.create_station(stranger, siteId=other)
    good = {"gridFuseA": {"l1": 63, "l2": 63, "l3": 63}, "mode": "static",
            "evses": [{"stationId": station, "evseId": 1, "maxA": 16}]}

    def bad(body, fragment):
        r = runner.api("PUT", f"/sites/{site_id}/load", body)
        assert r.status_code == 400, r.text
        assert fragment in r.json()["error"]["message"], r.text

    bad({**good, "evses": [{"stationId": stranger, "evseId": 1, "maxA": 16}]}, f"belongs to site {other}")
    bad({**good, "evses": [{"stationId": "NOPE-1", "evseId": 1, "maxA": 16}]}, "no station NOPE-1")
    bad({**good, "evses": [{"stationId": station, "evseId": 1, "maxA": 16, "minA": 20}]}, "evses[0].minA")
    bad({**good, "mode": "dynamic"}, "meter")
    bad({**good, "gridFuseA": {"l1": -1, "l2": 63, "l3": 63}}, "gridFuseA.l1")
    bad({**good, "evses": [{"stationId": station, "evseId": 1, "maxA": 16}] * 2}, "listed twice")
    bad({**good, "surprise": 1}, "surprise")

    assert runner.api("GET", f"/sites/{site_id}/load").status_code == 404
    first = runner.api("PUT", f"/sites/{site_id}/load", good)
    assert first.status_code == 200 and first.headers["ETag"] == '"1"'
    stale = runner.api("PUT", f"/sites/{site_id}/load", good, headers={"If-Match": '"7"'})
    assert stale.status_code == 412, stale.text
    second = runner.api("PUT", f"/sites/{site_id}/load", {**good, "mode": "trueDynamic"},
                        headers={"If-Match": '"1"'})
    assert second.status_code == 200 and second.json()["version"] == 2
    assert runner.api_ok("GET", f"/sites/{site_id}/load")["config"]["mode"] == "trueDynamic"

    # A grid meter through the API: dynamic mode with the building using 50 A of 63 leaves 63 - 50 - 2 margin.
    dyn = {**good, "mode": "dynamic", "meter": {}}
    runner.api_ok("PUT", f"/sites/{site_id}/load", dyn)
    a = runner.api_ok("POST", f"/sites/{site_id}/load/meter", {"l1": 50, "l2": 40, "l3": 45})
    assert a["mode"] == "dynamic"
    assert a["buildingLoadA"]["l1"] in ("50.0", 50, 50.0, "50"), a
    assert not a["warnings"], a
    assert runner.api("POST", f"/sites/{site_id}/load/meter", {"l1": "x"}).status_code == 400

    # Without readings the balancer says so.
    runner.api_ok("PUT", f"/sites/{site_id}/load", {**dyn, "meter": {"staleAfterSeconds": 1}})
    a = None
    for _ in range(30):
        a = runner.api_ok("POST", f"/sites/{site_id}/load/recompute")
        if any("stale" in w for w in a["warnings"]):
            break
        run(asyncio.sleep(0.2))
    assert any("stale" in w for w in a["warnings"]), a

    # The silent meter is an alarm (once), a reading over the main fuse another; each ends with its condition.
    def open_alarms():
        items = runner.api_ok("GET", "/alarms", params={"active": "true", "limit": 200})["items"]
        return {x["id"]: x for x in items if x["details"].get("siteId") == site_id}
    silent, over = f"grid-meter-silent:{site_id}", f"site-over-fuse:{site_id}"
    assert set(open_alarms()) == {silent}, open_alarms()
    assert open_alarms()[silent]["kind"] == "gridMeterSilent"
    runner.api_ok("POST", f"/sites/{site_id}/load/recompute")
    assert open_alarms()[silent]["occurrences"] == 1, "no repeat per run"
    runner.api_ok("PUT", f"/sites/{site_id}/load", {**dyn, "meter": {"staleAfterSeconds": 60}})
    runner.api_ok("POST", f"/sites/{site_id}/load/meter", {"l1": 70, "l2": 40, "l3": 45})
    now_open = open_alarms()
    assert set(now_open) == {over}, now_open
    assert now_open[over]["severity"] == "critical" and now_open[over]["kind"] == "siteOverFuse"
    assert "L1: 70" in now_open[over]["message"], now_open[over]
    runner.api_ok("POST", f"/sites/{site_id}/load/meter", {"l1": 50, "l2": 40, "l3": 45})
    assert open_alarms() == {}

    # Load balancing's profile ids are not for the API.
    r = runner.api("POST", f"/stations/{station}/commands",
                   {"type": "loadLimit", "evseId": 1, "profile": {}})
    assert r.status_code == 400, r.text

    assert runner.api("DELETE", f"/sites/{site_id}/load").status_code == 204
    assert runner.api("GET", f"/sites/{site_id}/load/allocation").status_code == 404


def test_a_drivers_group_raises_the_priority_of_their_session(runner):
    """Priority by user (or vehicle: its EVCC-ID is an id token too): the staff's cars are served first."""
    site_id = unique("PRIO")
    stations = [unique("PR0"), unique("PR1")]
    for s in stations:
        runner.create_station(s, siteId=site_id)
    staff, guest = unique("STAFF")[:20], unique("GUEST")[:20]
    runner.api_ok("POST", "/id-tokens", {"idToken": staff, "type": "ISO14443", "status": "Accepted",
                                         "group": "staff"}, status=201)
    runner.create_token(guest)
    config = {"gridFuseA": {"l1": 24, "l2": 24, "l3": 24}, "mode": "static",
              "evses": [{"stationId": s, "evseId": 1, "maxA": 16} for s in stations]}
    bad = runner.api("PUT", f"/sites/{site_id}/load", {**config, "groupPriorities": {"staff": 12}})
    assert bad.status_code == 400 and "groupPriorities.staff" in bad.text, bad.text
    runner.api_ok("PUT", f"/sites/{site_id}/load", config)

    async def scenario():
        site = Site()
        guest_cp = await connect(runner, site, stations[0], "1.6")
        staff_cp = await connect(runner, site, stations[1], "2.0.1")
        await start(guest_cp, guest)
        await start(staff_cp, staff)
        # Same priority: 24 A shared evenly.
        await settled(runner, site_id, site, {guest_cp.id: Decimal(12), staff_cp.id: Decimal(12)}, "even shares")
        # Staff first: up to its 16 A maximum, the guest gets the rest.
        await asyncio.to_thread(runner.api_ok, "PUT", f"/sites/{site_id}/load",
                                {**config, "groupPriorities": {"staff": 5}})
        await settled(runner, site_id, site, {guest_cp.id: Decimal(8), staff_cp.id: Decimal(16)}, "staff first")
        for cp in (guest_cp, staff_cp):
            cp.task.cancel()
            await cp.ws.close()
        return site

    site = run(scenario(), timeout=90)
    assert not site.violations, site.violations
