"""Never over the fuse, at any instant: chargers that keep every profile, cars at random times.

Issue #15. What counts is not the allocation the balancer computed but what every charger *may* draw
under the profiles it holds. The chargers here (OCPP 1.6 and 2.0.1, `ocpp` library, mixed in one site)
keep every SetChargingProfile they accept and evaluate them as a charger does:

- per EVSE, the TxProfile of the running transaction (highest stack level) wins over the
  TxDefaultProfile (the EVSE's own over one on EVSE 0); with neither, the EVSE may draw its maximum;
- the ChargePointMaxProfile (1.6) / ChargingStationMaxProfile (2.0.1) on EVSE 0 caps the station;
- a TxProfile for a transaction that is not running is refused and not kept; when a transaction ends
  its TxProfiles go; ClearChargingProfile removes what its id or criteria name;
- some answers are refusals, some come late (the charger takes the profile on receipt or only when it
  answers: both are chargers' behaviour), some are lost because the station went offline meanwhile.

At every change of any charger's profiles or transaction, and every 0.2 s, the checker adds up per grid
phase (with each EVSE's wired phases, the profile's `numberPhases` and the EVSE's rotation) and per
supply node what every charger may draw, and the power over all of them; a sum above any fuse or the
power cap is a violation, recorded with its time and every charger's state.

Cars plug in (1.6 `Preparing`, 2.0.1 `Occupied`; not always), authorise, start, report their draw,
stop, and stations drop their connection and come back — at random times from `FUSE_SEED` (random
when unset; printed at the start of every test: rerun with `FUSE_SEED=<n>`).

Liveness is checked apart from safety: a car in a transaction whose station is online, at a time when
everybody's minimum fits (every car with a transaction or plugged in, every fuse, the power cap) and
no limit has been refused or gone unanswered for a minute, must be allowed its minimum within
`FUSE_LIVENESS_S` (30 s: the README promises one round trip; answers here come at most 6 s late).
A test whose safety holds but whose liveness does not fails too (the report says whether idle EVSEs
held a default above 0 meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest
from ocpp.routing import on
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201

from csms_e2e import Charger16, Charger201, Runner, connect_ws, iso, now_utc, run, started_runner, unique

SEED = int(os.environ.get("FUSE_SEED") or random.SystemRandom().randrange(1 << 31))
LIVENESS_S = float(os.environ.get("FUSE_LIVENESS_S", "30"))
SUBPROTOCOL = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1"}
PHASES = ("L1", "L2", "L3")
VOLTAGE = 230
CHECK_EVERY_S = 0.2
# A limit refused or never answered is tried again a minute later; until then the balancer holds the
# charger at the higher of the old and the new limit, which can legitimately keep a car waiting.
REFUSAL_SHADOW_S = 65
# A refused first limit is sent again by the first periodic run (every minute) a minute after the refusal.
FIRST_LIMIT_RETRY_S = 60 + 60 + 10


# --------------------------------------------------------------------------- the site


@dataclass
class Evse:
    station: str
    version: str
    max_a: Decimal
    phases: int = 3
    rotation: str = "L1L2L3"
    board: str | None = None
    min_a: Decimal = Decimal(6)

    def grid_phases(self, n: int) -> tuple[str, ...]:
        """The grid phases a draw on `n` of this EVSE's phases loads."""
        if min(n, self.phases) == 3:
            return PHASES
        return (self.rotation[:2],)


@dataclass
class SiteSpec:
    fuse_a: Decimal
    evses: list[Evse]
    boards: dict[str, Decimal] = field(default_factory=dict)
    power_cap_w: int | None = None
    mode: str = "static"

    def config(self) -> dict:
        body = {
            "gridFuseA": {p.lower(): float(self.fuse_a) for p in PHASES},
            "mode": self.mode,
            "evses": [{"stationId": e.station, "evseId": 1, "maxA": float(e.max_a), "phases": e.phases,
                       "rotation": e.rotation, **({"board": e.board} if e.board else {})} for e in self.evses],
        }
        if self.boards:
            body["boards"] = [{"id": b, "fuseA": {p.lower(): float(a) for p in PHASES}}
                              for b, a in self.boards.items()]
        if self.power_cap_w is not None:
            body["powerCapW"] = self.power_cap_w
        if self.mode == "trueDynamic":
            body.update({"headroomA": 2, "settleSeconds": 5})
        return body

    def limits(self) -> dict[str, Decimal]:
        """Every bound by name: `grid L1`, `board garage L2`, …"""
        out = {f"grid {p}": self.fuse_a for p in PHASES}
        for b, a in self.boards.items():
            out.update({f"board {b} {p}": a for p in PHASES})
        return out

    def nodes(self, e: Evse) -> list[str]:
        return ["grid"] + ([f"board {e.board}"] if e.board else [])


# --------------------------------------------------------------------------- profiles as a charger holds them


@dataclass
class Profile:
    id: int
    evse: int
    purpose: str
    stack: int
    kind: str
    transaction: str | None
    unit: str
    periods: list[tuple[int, Decimal, int]]  # (start period s, limit, number of phases)
    start_schedule: float | None
    duration: int | None
    valid_from: float | None
    valid_to: float | None

    @staticmethod
    def parse(p: dict, evse: int) -> "Profile":
        """From the `ocpp` library's snake_case form of a 1.6 csChargingProfiles / 2.0.1 chargingProfile."""
        schedule = p["charging_schedule"]
        if isinstance(schedule, list):  # 2.0.1: a list of schedules; chargers with one take the first
            schedule = schedule[0]
        periods = sorted((int(x["start_period"]), Decimal(str(x["limit"])), int(x.get("number_phases") or 3))
                         for x in schedule["charging_schedule_period"])

        def ts(v):
            return None if v is None else _epoch(v)

        tx = p.get("transaction_id")
        return Profile(
            id=int(p.get("charging_profile_id", p.get("id"))), evse=evse, purpose=p["charging_profile_purpose"],
            stack=int(p["stack_level"]), kind=p["charging_profile_kind"], transaction=None if tx is None else str(tx),
            unit=schedule["charging_rate_unit"], periods=periods, start_schedule=ts(schedule.get("start_schedule")),
            duration=schedule.get("duration"), valid_from=ts(p.get("valid_from")), valid_to=ts(p.get("valid_to")))

    def limit_at(self, now: float, tx_started: float | None) -> tuple[Decimal, int] | None:
        """(amperes per phase, phases) in force at `now`, or None when the profile is not in force."""
        if self.valid_from is not None and now < self.valid_from:
            return None
        if self.valid_to is not None and now >= self.valid_to:
            return None
        if self.kind == "Absolute" and self.start_schedule is not None:
            start = self.start_schedule
        elif self.kind == "Relative" and tx_started is not None:
            start = tx_started
        else:
            start = now  # relative to a transaction yet to start: from its first period
        elapsed = now - start
        if self.duration is not None and elapsed >= self.duration:
            return None
        current = None
        for begin, limit, n in self.periods:
            if begin <= max(elapsed, 0):
                current = (limit, n)
        if current is None:
            return None
        limit, n = current
        if self.unit == "W":
            limit = limit / (VOLTAGE * n)
        return limit, n

    def short(self) -> str:
        p = self.periods[0]
        tx = f" tx {self.transaction}" if self.transaction else ""
        return f"{self.purpose}#{self.id}@{self.evse}/s{self.stack}={p[1]}A×{p[2]}{tx}"


def _epoch(v: str) -> float:
    from csms_e2e import parse_time
    return parse_time(v).timestamp()


# --------------------------------------------------------------------------- what the chargers behave like


@dataclass
class Behaviour:
    """How a site's chargers answer limits and how their cars come and go."""
    refuse: float = 0.06        # a SetChargingProfile is refused
    late: float = 0.25          # its answer comes 0.5–6 s late
    offline: float = 0.12       # per step: the station drops its connection for 1–6 s
    preparing: float = 0.7      # the charger says a car is there before its driver authorises
    idle_s: tuple[float, float] = (0.5, 8.0)
    charge_s: tuple[float, float] = (4.0, 18.0)
    # Refuses every EVSE limit (TxDefaultProfile, TxProfile) and takes only its station's.
    station_limit_only: bool = False


class Checker:
    """What every charger of the site may draw, added up at each change; violations and waits recorded."""

    def __init__(self, spec: SiteSpec, seed: int, label: str):
        self.spec = spec
        self.seed = seed
        self.label = label
        self.chargers: list = []
        self.violations: list[dict] = []
        self.checks = 0
        self.peak: dict[str, Decimal] = {}
        self.peak_w = Decimal(0)
        self.refused_at = -1e9  # last refusal or lost answer anywhere
        self.waits: dict[tuple[str, str], dict] = {}  # (station, transaction) → liveness record
        self.liveness: list[dict] = []
        self.profile_events = 0
        self.t0 = time.monotonic()
        # A charger that has never been given a limit may draw its maximum: nothing can keep the sum
        # before every charger has been configured once. The invariant holds from then on.
        self.armed = False
        self.events: list[tuple[float, str]] = []

    # -- the invariant

    def loads(self, now: float) -> tuple[dict[str, Decimal], Decimal]:
        sums = {k: Decimal(0) for k in self.spec.limits()}
        watts = Decimal(0)
        for cp in self.chargers:
            amps, n = cp.may_draw(now)
            if amps <= 0:
                continue
            gp = cp.evse.grid_phases(n)
            for node in self.spec.nodes(cp.evse):
                for p in gp:
                    sums[f"{node} {p}"] += amps
            watts += amps * len(gp) * VOLTAGE
        return sums, watts

    def check(self, why: str) -> None:
        now = time.time()
        self.checks += 1
        if why != "periodic":
            self.events.append((round(time.monotonic() - self.t0, 3), why))
        sums, watts = self.loads(now)
        over = {k: v for k, v in sums.items() if v > self.spec.limits()[k]}
        if self.spec.power_cap_w is not None and watts > self.spec.power_cap_w:
            over["power cap W"] = watts
        for k, v in sums.items():
            if self.armed:
                self.peak[k] = max(self.peak.get(k, Decimal(0)), v)
        if self.armed:
            self.peak_w = max(self.peak_w, watts)
        if over and self.armed:
            self.violations.append({
                "t": round(time.monotonic() - self.t0, 3), "at": iso(now_utc()), "after": why, "over": over,
                "state": {cp.id: cp.describe(now) for cp in self.chargers}})
        self._liveness(now, sums)

    # -- liveness

    def _room(self, now: float, refusals_too: bool = True) -> bool:
        """Everybody's minimum fits and nothing stands in the way of the balancer."""
        if any(not cp.online for cp in self.chargers):
            return False
        if refusals_too and time.monotonic() - self.refused_at < REFUSAL_SHADOW_S:
            return False
        need = {k: Decimal(0) for k in self.spec.limits()}
        watts = Decimal(0)
        for cp in self.chargers:
            if cp.transaction is None and not cp.plugged:
                continue
            gp = cp.evse.grid_phases(cp.evse.phases)
            for node in self.spec.nodes(cp.evse):
                for p in gp:
                    need[f"{node} {p}"] += cp.evse.min_a
            watts += cp.evse.min_a * len(gp) * VOLTAGE
        if self.spec.power_cap_w is not None and watts > self.spec.power_cap_w:
            return False
        return all(v <= self.spec.limits()[k] for k, v in need.items())

    def _liveness(self, now: float, sums) -> None:
        room = self._room(now)
        # Reported, not asserted: the wait with room when refused limits are not excused.
        loose = self._room(now, refusals_too=False)
        mono = time.monotonic()
        idle_defaults = [(cp.id, str(cp.may_draw(now)[0])) for cp in self.chargers
                         if cp.transaction is None and not cp.plugged and cp.may_draw(now)[0] > 0]
        for cp in self.chargers:
            if cp.transaction is None:
                continue
            key = (cp.id, cp.transaction)
            w = self.waits.setdefault(key, {"station": cp.id, "version": cp.version, "transaction": cp.transaction,
                                            "started": round(mono - self.t0, 3), "served": None,
                                            "since": None, "idle_defaults": [], "failed": False,
                                            "loose_since": None, "loose_wait": 0.0})
            amps, _ = cp.may_draw(now)
            if amps >= cp.evse.min_a:
                if w["served"] is None:
                    w["served"] = round(mono - self.t0, 3)
                w["since"] = w["loose_since"] = None
                continue
            if not loose:
                w["loose_since"] = None
            else:
                w["loose_since"] = w["loose_since"] or mono
                w["loose_wait"] = round(max(w["loose_wait"], mono - w["loose_since"]), 3)
            if not room:
                w["since"] = None  # the clock starts again once there is room
                w["idle_defaults"] = []
                continue
            if w["since"] is None:
                w["since"] = mono
            if idle_defaults and not w["idle_defaults"]:
                w["idle_defaults"] = idle_defaults
            if not w["failed"] and mono - w["since"] > LIVENESS_S:
                w["failed"] = True
                self.liveness.append({
                    "station": cp.id, "version": cp.version, "transaction": cp.transaction,
                    "waiting_since_s": round(w["since"] - self.t0, 3), "detected_s": round(mono - self.t0, 3),
                    "may_draw": str(amps), "idle_evses_holding_a_default": w["idle_defaults"],
                    "state": {c.id: c.describe(now) for c in self.chargers}})

    def refusal(self, who: str) -> None:
        self.refused_at = time.monotonic()
        self.events.append((round(self.refused_at - self.t0, 3), f"{who} refused or lost an answer"))

    # -- report

    def summary(self) -> str:
        limits = self.spec.limits()
        peak = max((self.peak[k] / limits[k] for k in limits), default=Decimal(0))
        served = [w["served"] - w["started"] for w in self.waits.values() if w["served"] is not None]
        unserved = sum(1 for w in self.waits.values() if w["served"] is None)
        loose = max((w["loose_wait"] for w in self.waits.values()), default=0.0)
        cap = f", peak power {self.peak_w / 1000:.1f} kW of {self.spec.power_cap_w / 1000:.1f}" \
            if self.spec.power_cap_w else ""
        return (f"[fuse] {self.label} FUSE_SEED={self.seed}: {self.checks} checks, {self.profile_events} profiles "
                f"taken, {len(self.violations)} violation(s); peak {float(peak) * 100:.1f} % of the tightest "
                f"fuse{cap}; {len(self.waits)} transactions, served at ≥ min after "
                f"{_stats(served)}, {unserved} never served; longest wait below the minimum with room for everybody's "
                f"minimum {loose:.1f} s (refused limits not excused); {len(self.liveness)} liveness failure(s)")


def _stats(xs: list[float]) -> str:
    if not xs:
        return "-"
    xs = sorted(xs)
    return f"median {xs[len(xs) // 2]:.1f} s, max {xs[-1]:.1f} s"


# --------------------------------------------------------------------------- chargers


def _charger_class(base, version: str):
    results = result16 if version == "1.6" else result201

    class Keeping(base):
        """A charger with one EVSE (1) that keeps and evaluates its charging profiles."""

        def __init__(self, *a, site: Checker, evse: Evse, rng: random.Random, behaviour: Behaviour, **kw):
            super().__init__(*a, **kw)
            self.site = site
            self.evse = evse
            self.rng = rng
            self.behaviour = behaviour
            self.version = version
            self.profiles: list[Profile] = []
            self.refused_limits = 0  # TxDefaultProfile or station limits refused (not TxProfiles)
            self.transaction: str | None = None
            self.tx_started: float | None = None
            self.plugged = False
            self.online = False
            self.seq = 0
            self.lock = asyncio.Lock()  # a charger takes one profile command after the other
            self.handlers: set[asyncio.Task] = set()

        # -- what it may draw

        def _pick(self, purpose: str, evses: tuple[int, ...], now: float, tx_only: bool = False):
            best = None
            for p in self.profiles:
                if p.purpose != purpose or p.evse not in evses:
                    continue
                if tx_only and p.transaction not in (None, self.transaction):
                    continue
                lim = p.limit_at(now, self.tx_started)
                if lim is None:
                    continue
                # The EVSE's own profile over one for the whole station, then the highest stack level.
                rank = (p.evse != 0, p.stack)
                if best is None or rank > best[0]:
                    best = (rank, lim)
            return None if best is None else best[1]

        def may_draw(self, now: float) -> tuple[Decimal, int]:
            """Per phase, on how many phases, what this EVSE may draw now under the profiles it holds."""
            chosen = None
            if self.transaction is not None:
                chosen = self._pick("TxProfile", (1,), now, tx_only=True)
            if chosen is None:
                chosen = self._pick("TxDefaultProfile", (0, 1), now)
            amps, n = chosen if chosen is not None else (self.evse.max_a, self.evse.phases)
            station = self._pick("ChargePointMaxProfile" if version == "1.6" else "ChargingStationMaxProfile",
                                 (0,), now)
            if station is not None:
                amps = min(amps, station[0])
            return min(amps, self.evse.max_a), min(n, self.evse.phases)

        def describe(self, now: float) -> str:
            amps, n = self.may_draw(now)
            state = f"tx {self.transaction}" if self.transaction else ("plugged" if self.plugged else "idle")
            return (f"{version} {state}{'' if self.online else ' OFFLINE'} may draw {amps} A×{n}: "
                    + ", ".join(p.short() for p in self.profiles))

        # -- profiles

        def _keep(self, p: Profile) -> None:
            same_slot = lambda q: (q.evse, q.purpose, q.stack) == (p.evse, p.purpose, p.stack)  # noqa: E731
            self.profiles = [q for q in self.profiles if q.id != p.id and not same_slot(q)]
            self.profiles.append(p)
            self.site.profile_events += 1
            self.site.check(f"{self.id} took {p.short()}")

        async def _tx_known(self) -> None:
            """1.6: the transaction id arrives with StartTransaction's answer, a moment after the CSMS knows it."""
            for _ in range(20):
                if self.transaction is not None:
                    return
                await asyncio.sleep(0.05)

        async def _set_profile(self, raw: dict, evse: int):
            p = Profile.parse(raw, evse)
            async with self.lock:
                if p.purpose == "TxProfile":
                    await self._tx_known()
                    if evse != 1 or self.transaction is None or p.transaction not in (None, self.transaction):
                        return "Rejected"
                b = self.behaviour
                if self.rng.random() < b.refuse or (b.station_limit_only and p.evse != 0):
                    self.site.refusal(self.id)
                    if p.purpose != "TxProfile":
                        self.refused_limits += 1
                    return "Rejected"
                delay = self.rng.uniform(0.5, 6.0) if self.rng.random() < b.late else 0.0
                early = self.rng.random() < 0.5
                if early:
                    self._keep(p)
                if delay:
                    await asyncio.sleep(delay)
                if not early:
                    if p.purpose == "TxProfile" and p.transaction not in (None, self.transaction):
                        return "Rejected"  # its transaction ended meanwhile
                    self._keep(p)
                return "Accepted"

        def _clear(self, profile_id, evse, purpose, stack) -> str:
            def hit(q: Profile) -> bool:
                if profile_id is not None:
                    return q.id == int(profile_id)
                return ((evse is None or q.evse == evse) and (purpose is None or q.purpose == purpose)
                        and (stack is None or q.stack == stack))
            before = len(self.profiles)
            self.profiles = [q for q in self.profiles if not hit(q)]
            self.site.check(f"{self.id} cleared {before - len(self.profiles)} profile(s)")
            return "Accepted" if len(self.profiles) < before else "Unknown"

        async def route_message(self, raw_msg):
            # Profile commands are answered from a task of their own, so a late answer does not hold
            # up the answers to this charger's own requests.
            try:
                msg = json.loads(raw_msg)
            except ValueError:
                msg = None
            if isinstance(msg, list) and len(msg) > 2 and msg[0] == 2 and msg[2] in (
                    "SetChargingProfile", "ClearChargingProfile"):
                task = asyncio.create_task(self._answer_later(raw_msg))
                self.handlers.add(task)
                task.add_done_callback(self.handlers.discard)
                return None
            return await super().route_message(raw_msg)

        async def _answer_later(self, raw_msg):
            try:
                await super().route_message(raw_msg)
            except Exception:  # noqa: BLE001 - the connection went meanwhile: the answer is lost
                self.site.refusal(self.id)

        # -- transactions

        def end_transaction(self) -> None:
            self.transaction = None
            self.tx_started = None
            self.profiles = [p for p in self.profiles if p.purpose != "TxProfile"]
            self.site.check(f"{self.id} transaction ended")

    if version == "1.6":
        @on("SetChargingProfile")
        async def on_set(self, connector_id, cs_charging_profiles, **kw):
            return results.SetChargingProfile(status=await self._set_profile(cs_charging_profiles, connector_id))

        @on("ClearChargingProfile")
        async def on_clear(self, id=None, connector_id=None, charging_profile_purpose=None, stack_level=None, **kw):
            async with self.lock:
                return results.ClearChargingProfile(
                    status=self._clear(id, connector_id, charging_profile_purpose, stack_level))
    else:
        @on("SetChargingProfile")
        async def on_set(self, evse_id, charging_profile, **kw):
            return results.SetChargingProfile(status=await self._set_profile(charging_profile, evse_id))

        @on("ClearChargingProfile")
        async def on_clear(self, charging_profile_id=None, charging_profile_criteria=None, **kw):
            c = charging_profile_criteria or {}
            async with self.lock:
                return results.ClearChargingProfile(status=self._clear(
                    charging_profile_id, c.get("evse_id"), c.get("charging_profile_purpose"), c.get("stack_level")))

    Keeping.on_set = on_set
    Keeping.on_clear = on_clear
    return Keeping


Keeping16 = _charger_class(Charger16, "1.6")
Keeping201 = _charger_class(Charger201, "2.0.1")


async def go_online(runner: Runner, cp, boot: bool) -> None:
    ws = await connect_ws(runner.ws_url(cp.id), [SUBPROTOCOL[cp.version]])
    cp._connection = ws
    cp.ws = ws
    cp.task = asyncio.create_task(cp.start())
    cp.online = True
    if boot:
        if cp.version == "1.6":
            await cp.send(call16.BootNotification(charge_point_vendor="Acme", charge_point_model="Fuse"))
        else:
            await cp.send(call201.BootNotification(charging_station={"vendor_name": "Acme", "model": "Fuse"},
                                                   reason="PowerUp"))
    await status(cp, "Charging" if cp.transaction else ("Preparing" if cp.plugged else "Available"))
    cp.site.check(f"{cp.id} online")


async def go_offline(cp) -> None:
    cp.online = False
    for h in list(cp.handlers):  # answers not sent yet are lost (the profile may or may not have been taken)
        h.cancel()
        cp.site.refusal(cp.id)
    cp.task.cancel()
    with contextlib.suppress(BaseException):
        await cp.task
    await cp.ws.close()
    cp.site.check(f"{cp.id} offline")


async def status(cp, value: str) -> None:
    if cp.version == "1.6":
        await cp.send(call16.StatusNotification(connector_id=1, error_code="NoError", status=value))
    else:
        v201 = {"Preparing": "Occupied", "Charging": "Occupied", "Finishing": "Occupied"}.get(value, value)
        await cp.send(call201.StatusNotification(timestamp=iso(now_utc()), connector_status=v201, evse_id=1,
                                                 connector_id=1))


async def start_transaction(cp, tag: str) -> None:
    if cp.version == "1.6":
        await cp.send(call16.Authorize(id_tag=tag))
        r = await cp.send(call16.StartTransaction(connector_id=1, id_tag=tag, meter_start=0, timestamp=iso(now_utc())))
        cp.transaction = str(r.transaction_id)
        cp.tx_started = time.time()
        cp.site.check(f"{cp.id} started {cp.transaction}")
        await status(cp, "Charging")
    else:
        await cp.send(call201.Authorize(id_token={"id_token": tag, "type": "ISO14443"}))
        cp.transaction = unique("TX")
        cp.tx_started = time.time()
        cp.seq = 0
        cp.site.check(f"{cp.id} started {cp.transaction}")
        await cp.send(call201.TransactionEvent(
            event_type="Started", timestamp=iso(now_utc()), trigger_reason="Authorized", seq_no=cp.seq,
            transaction_info={"transaction_id": cp.transaction, "charging_state": "Charging"},
            evse={"id": 1, "connector_id": 1}, id_token={"id_token": tag, "type": "ISO14443"}))
    cp.plugged = False


async def report_draw(cp, car_max: Decimal) -> None:
    """The car draws what it may, up to its on-board charger's maximum."""
    amps, n = cp.may_draw(time.time())
    drawn = min(amps, car_max)
    phases = PHASES[: min(n, cp.evse.phases)]
    if cp.version == "1.6":
        sampled = [{"value": f"{drawn:.1f}", "measurand": "Current.Import", "phase": p, "unit": "A"} for p in phases]
        await cp.send(call16.MeterValues(connector_id=1, transaction_id=int(cp.transaction),
                                         meter_value=[{"timestamp": iso(now_utc()), "sampled_value": sampled}]))
    else:
        cp.seq += 1
        sampled = [{"value": float(drawn), "measurand": "Current.Import", "phase": p,
                    "unit_of_measure": {"unit": "A"}} for p in phases]
        await cp.send(call201.TransactionEvent(
            event_type="Updated", timestamp=iso(now_utc()), trigger_reason="MeterValuePeriodic", seq_no=cp.seq,
            transaction_info={"transaction_id": cp.transaction, "charging_state": "Charging"},
            meter_value=[{"timestamp": iso(now_utc()), "sampled_value": sampled}]))


async def stop_transaction(cp) -> None:
    tx = cp.transaction
    cp.end_transaction()
    if cp.version == "1.6":
        await cp.send(call16.StopTransaction(transaction_id=int(tx), meter_stop=1000, timestamp=iso(now_utc())))
        await status(cp, "Finishing")
    else:
        cp.seq += 1
        await cp.send(call201.TransactionEvent(
            event_type="Ended", timestamp=iso(now_utc()), trigger_reason="EVCommunicationLost", seq_no=cp.seq,
            transaction_info={"transaction_id": tx, "stopped_reason": "EVDisconnected"},
            evse={"id": 1, "connector_id": 1}))
    await status(cp, "Available")


async def blip(runner: Runner, cp, rng: random.Random) -> None:
    """The station drops its connection for 1–6 s and comes back (idle: often with a BootNotification)."""
    await go_offline(cp)
    await asyncio.sleep(rng.uniform(1.0, 6.0))
    await go_online(runner, cp, boot=cp.transaction is None and rng.random() < 0.5)


async def life(runner: Runner, cp, rng: random.Random, tag: str, until: float) -> None:
    """Cars come and go on one charger until `until` (monotonic); a transaction running then is left running."""
    b = cp.behaviour

    async def pause(s: float) -> None:
        await asyncio.sleep(max(0.0, min(s, until - time.monotonic())))

    car_max = Decimal(0)
    await pause(rng.uniform(0, 3))
    while time.monotonic() < until:
        await pause(rng.uniform(*b.idle_s))
        if time.monotonic() >= until:
            break
        if rng.random() < b.offline:
            await blip(runner, cp, rng)
            continue
        car_max = rng.choice([Decimal(10), Decimal(16), Decimal(32)])
        if rng.random() < b.preparing:
            cp.plugged = True
            await status(cp, "Preparing")
            await pause(rng.uniform(0.2, 4.0))  # the driver finds the card
        await start_transaction(cp, tag)
        end = time.monotonic() + rng.uniform(*b.charge_s)
        while time.monotonic() < min(end, until):
            await pause(rng.uniform(0.8, 2.5))
            if time.monotonic() >= until:
                break
            if rng.random() < b.offline / 3:
                await blip(runner, cp, rng)
            else:
                await report_draw(cp, car_max)
        if time.monotonic() >= until:
            break
        await stop_transaction(cp)


async def configured(site: Checker) -> None:
    """Waits until every charger holds a limit (a TxDefaultProfile or its station's), then arms the checker.

    Within 20 s. A charger that refused its limits is tried again by the first periodic run a minute after
    the refusal (meanwhile the balancer counts it at its maximum): up to two minutes later."""
    started = time.monotonic()
    while not all(any(p.purpose != "TxProfile" for p in cp.profiles) for cp in site.chargers):
        deadline = started + 20
        if any(cp.refused_limits for cp in site.chargers):
            deadline = max(deadline, site.refused_at + FIRST_LIMIT_RETRY_S)
        assert time.monotonic() < deadline, (
            "not every charger got its first limit in time: "
            + json.dumps({cp.id: cp.describe(time.time()) for cp in site.chargers}))
        await asyncio.sleep(0.1)
    site.armed = True
    site.t0 = time.monotonic()
    site.check("configured")


async def watch(site: Checker) -> None:
    while True:
        site.check("periodic")
        await asyncio.sleep(CHECK_EVERY_S)


# --------------------------------------------------------------------------- the runner and the scenarios


@pytest.fixture
def fast_runner(csms_bin, e2e_tmp, request):
    """csms-local with a short debounce, one per test. The minute's sweep keeps its production interval: a
    raise held back until "the periodic one" must show as the wait it is.

    One per test because the local runner recomputes every site in one worker: a run of the previous
    test's site that waits for an answer its station will never send (it went offline) holds up the
    first limits of the next site for up to 20 s."""
    name = "fuse-" + request.node.name.replace("[", "-").replace("]", "")
    with started_runner(csms_bin, e2e_tmp, name, extra_env={"CSMS_LOAD_DEBOUNCE_MS": "200"}) as r:
        yield r


def make_site(rng: random.Random, n: int, fuse: int, *, board: tuple[str, int] | None = None,
              power_cap_w: int | None = None, mode: str = "static", single_phase: float = 0.25) -> SiteSpec:
    rotations = ["L1L2L3", "L2L3L1", "L3L1L2"]
    evses = []
    for i in range(n):
        phases = 1 if rng.random() < single_phase else 3
        evses.append(Evse(station=unique(f"FZ{i:02d}"), version=rng.choice(["1.6", "2.0.1"]),
                          max_a=Decimal(rng.choice([16, 32])), phases=phases, rotation=rotations[i % 3],
                          board=board[0] if board and i % 2 == 0 else None))
    # Both versions in every site, whatever the draw.
    evses[0].version, evses[-1].version = "1.6", "2.0.1"
    return SiteSpec(fuse_a=Decimal(fuse), evses=evses, boards={board[0]: Decimal(board[1])} if board else {},
                    power_cap_w=power_cap_w, mode=mode)


def configured_site(runner: Runner, spec: SiteSpec) -> str:
    """A new site with the stations of `spec` registered on it and its load configuration; a new token for
    their sessions."""
    site_id = unique("FUSE")
    for e in spec.evses:
        runner.create_station(e.station, siteId=site_id)
    tag = unique("FT")[:20]
    runner.create_token(tag)
    runner.api_ok("PUT", f"/sites/{site_id}/load", spec.config())
    return tag


def replay(runner: Runner, capsys, label: str, spec: SiteSpec, behaviour: Behaviour, seconds: float) -> Checker:
    rng = random.Random(f"{SEED}/{label}")
    tag = configured_site(runner, spec)
    site = Checker(spec, SEED, label)
    with capsys.disabled():
        print(f"\n[fuse] {label}: FUSE_SEED={SEED} (rerun with FUSE_SEED={SEED})", flush=True)

    async def scenario():
        tasks = []
        for e in spec.evses:
            cls = Keeping16 if e.version == "1.6" else Keeping201
            cp = cls(e.station, None, site=site, evse=e, rng=random.Random(rng.random()), behaviour=behaviour,
                     response_timeout=10)
            site.chargers.append(cp)
        watcher = asyncio.create_task(watch(site))
        try:
            for cp in site.chargers:
                await go_online(runner, cp, boot=True)
            await configured(site)
            until = time.monotonic() + seconds
            tasks = [asyncio.create_task(life(runner, cp, cp.rng, tag, until)) for cp in site.chargers]
            await asyncio.gather(*tasks)
            # Everybody online, the last answers in: a few more seconds of checks.
            for cp in site.chargers:
                if not cp.online:
                    await go_online(runner, cp, boot=False)
            await asyncio.sleep(3)
            site.check("end")
        finally:
            watcher.cancel()
            for t in tasks:
                t.cancel()
            for cp in site.chargers:
                for h in list(cp.handlers):
                    h.cancel()
                if cp.online:
                    cp.online = False
                    cp.task.cancel()
                    with contextlib.suppress(BaseException):
                        await cp.ws.close()

    run(scenario(), timeout=seconds + 60 + FIRST_LIMIT_RETRY_S)
    with capsys.disabled():
        print(site.summary(), flush=True)
    _dump(site, label)
    return site


def _dump(site: Checker, label: str) -> None:
    """The whole record next to the runner logs, for a failure to be read after the fact."""
    out = Path(os.environ.get("FUSE_RECORD_DIR", "target/test-logs"))
    with contextlib.suppress(OSError):
        out.mkdir(parents=True, exist_ok=True)
        (out / f"fuse-{label}-{SEED}.json").write_text(json.dumps({
            "seed": SEED, "label": label, "summary": site.summary(), "violations": site.violations,
            "liveness": site.liveness, "waits": list(site.waits.values()),
            "events": site.events}, default=str, indent=1))


def assert_safe_then_live(site: Checker) -> None:
    """Safety fails hard; a liveness failure fails too."""
    assert site.checks > 50 and site.profile_events > 0, site.summary()
    assert not site.violations, (
        f"FUSE_SEED={SEED}: {len(site.violations)} moment(s) above a fuse or the power cap; first ones:\n"
        + json.dumps(site.violations[:3], indent=1, default=str))
    if site.liveness:
        detail = json.dumps(site.liveness[:2], indent=1, default=str)
        pytest.fail(f"LIVENESS FUSE_SEED={SEED}: {len(site.liveness)} car(s) waited at < min for "
                    f"> {LIVENESS_S:.0f} s with room:\n{detail}")


@pytest.mark.parametrize("chargers,seconds", [(5, 20), (12, 25), (20, 25)], ids=["5", "12", "20"])
def test_static_site_never_over_its_fuse(fast_runner, capsys, chargers, seconds):
    """(a) static mode on one 32 A three-phase connection; the 12-charger site also has a 20 A board."""
    rng = random.Random(f"{SEED}/static-{chargers}")
    spec = make_site(rng, chargers, 32, board=("garage", 20) if chargers == 12 else None)
    site = replay(fast_runner, capsys, f"static-{chargers}", spec, Behaviour(), seconds)
    assert_safe_then_live(site)


def test_true_dynamic_site_never_over_its_fuse_or_power_cap(fast_runner, capsys):
    """(b) trueDynamic with 8 chargers, a 32 A connection and an 18 kW power cap."""
    rng = random.Random(f"{SEED}/true-dynamic-8")
    spec = make_site(rng, 8, 32, power_cap_w=18_000, mode="trueDynamic")
    site = replay(fast_runner, capsys, "true-dynamic-8", spec, Behaviour(), 25)
    assert_safe_then_live(site)


def test_every_car_gets_its_minimum_when_there_is_room(fast_runner, capsys):
    """Liveness on its own: five EVSEs on 32 A (everybody's 6 A always fits), single-phase ones among them
    (the spare room differs per phase, so idle EVSEs hold different defaults), most cars starting without
    saying first that they are plugged in, no refusal, no station offline; every car must be allowed its
    minimum within FUSE_LIVENESS_S."""
    rng = random.Random(f"{SEED}/liveness")
    spec = make_site(rng, 5, 32, single_phase=0.4)
    behaviour = Behaviour(refuse=0, late=0.1, offline=0, preparing=0.3, idle_s=(0.5, 10.0), charge_s=(5.0, 25.0))
    site = replay(fast_runner, capsys, "liveness-5", spec, behaviour, LIVENESS_S + 20)
    assert site.waits, "no car started"
    assert_safe_then_live(site)


def test_a_station_limit_is_not_raised_over_a_fuse_for_an_evse_that_refused_its_limits(fast_runner, capsys):
    """Deterministic: A (32 A, on a 20 A board) refuses every EVSE limit and takes only its station's; B charges
    beside it. A is held by its station limit alone: that limit must never allow more than the board."""
    spec = SiteSpec(fuse_a=Decimal(32), boards={"garage": Decimal(20)}, evses=[
        Evse(station=unique("FZA"), version="1.6", max_a=Decimal(32), board="garage"),
        Evse(station=unique("FZB"), version="2.0.1", max_a=Decimal(16), board="garage")])
    tag = configured_site(fast_runner, spec)
    site = Checker(spec, SEED, "station-limit")

    async def scenario():
        a_cls, b_cls = Keeping16, Keeping201
        a = a_cls(spec.evses[0].station, None, site=site, evse=spec.evses[0], rng=random.Random(0),
                  behaviour=Behaviour(refuse=0, late=0, station_limit_only=True), response_timeout=10)
        b = b_cls(spec.evses[1].station, None, site=site, evse=spec.evses[1], rng=random.Random(1),
                  behaviour=Behaviour(refuse=0, late=0), response_timeout=10)
        site.chargers += [a, b]
        watcher = asyncio.create_task(watch(site))
        try:
            for cp in (a, b):
                await go_online(fast_runner, cp, boot=True)
            await configured(site)
            await start_transaction(b, tag)
            await asyncio.sleep(3)
            await start_transaction(a, tag)
            for _ in range(5):
                await asyncio.sleep(2)
                await report_draw(a, Decimal(32))
                await report_draw(b, Decimal(16))
        finally:
            watcher.cancel()
            for cp in (a, b):
                for h in list(cp.handlers):
                    h.cancel()
                cp.task.cancel()
                with contextlib.suppress(BaseException):
                    await cp.ws.close()

    run(scenario(), timeout=60)
    with capsys.disabled():
        print("\n" + site.summary(), flush=True)
    _dump(site, "station-limit")
    assert site.profile_events > 0, site.summary()
    assert not site.violations, json.dumps(site.violations[:2], indent=1, default=str)
