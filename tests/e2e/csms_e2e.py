"""Helpers of the end-to-end suite: the runner process, the HTTP API, OCPP chargers.

The system under test is the `csms-local` binary (path in `CSMS_LOCAL_BIN`).
Chargers are simulated with the `ocpp` library (its ChargePoint classes check
every request and response against the official OCPP JSON schemas) over
`websockets`; malformed traffic is sent with a raw `websockets` connection.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, AsyncIterator, Callable

import requests
import websockets
from ocpp.exceptions import OCPPError
from ocpp.v16 import ChargePoint as _ChargePoint16
from ocpp.v16 import call as _call16
from ocpp.v201 import ChargePoint as _ChargePoint201
from ocpp.v201 import call as _call201

ADMIN_KEY = "test-admin-key-0123456789abcdef"
SUBPROTOCOL = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1"}
STARTUP_TIMEOUT_S = 30
SHUTDOWN_TIMEOUT_S = 10
OCPP_RESPONSE_TIMEOUT_S = 10


# --------------------------------------------------------------------------- misc


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unique(prefix: str) -> str:
    """A fresh identifier (stations, tokens, transactions) so tests never collide."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def iso(dt: datetime) -> str:
    """RFC 3339 with milliseconds and a `Z`, the way chargers send timestamps."""
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_time(value: Any) -> datetime:
    """Parse an RFC 3339 timestamp from the API; fail with the value when it is not one."""
    assert isinstance(value, str), f"expected an RFC 3339 timestamp string, got {value!r}"
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as e:  # pragma: no cover - the message is the point
        raise AssertionError(f"not an RFC 3339 timestamp: {value!r} ({e})") from None
    assert parsed.tzinfo is not None, f"timestamp without an offset: {value!r}"
    return parsed


def run(coro, timeout: float = 90):
    """Run a coroutine from a sync test, with an overall time limit."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def poll(fn: Callable[[], Any], *, timeout: float = 5.0, interval: float = 0.1, what: str = "condition",
         show: Callable[[], Any] | None = None):
    """Call `fn` until it returns something truthy; fail after `timeout` seconds.

    The failure shows `show()` when given (e.g. the resource being watched), else fn's last value.
    """
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() > deadline:
            shown = show() if show else last
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last seen: {shown!r}")
        time.sleep(interval)


def basic_auth(username: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def quote(segment: str) -> str:
    """URL-encode one path segment (session ids are opaque)."""
    return urllib.parse.quote(segment, safe="")


# --------------------------------------------------------------------------- the runner


class Runner:
    """One `csms-local` process on a free port with its own data dir."""

    instances: list["Runner"] = []  # every runner not yet discarded, for log tails on failure

    def __init__(self, binary: str, data_dir: Path, log_dir: Path, name: str = "csms-local",
                 admin_key: str = ADMIN_KEY, extra_env: dict[str, str] | None = None,
                 args: list[str] | None = None):
        self.binary = binary
        self.args = list(args or [])  # command-line arguments (e.g. --demo)
        self.data_dir = Path(data_dir)
        self.log_dir = Path(log_dir)
        self.name = name
        self.admin_key = admin_key
        self.extra_env = extra_env or {}
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None
        self.log_path: Path | None = None
        self._starts = 0
        self._log_file = None
        Runner.instances.append(self)

    # -- lifecycle

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> "Runner":
        assert not self.running, f"{self.name} is already running"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._starts += 1
        self.port = free_port()
        self.log_path = self.log_dir / f"{self.name}.{self._starts}.log"
        env = dict(os.environ)
        env.update({
            "CSMS_LISTEN": f"127.0.0.1:{self.port}",
            "CSMS_DATA_DIR": str(self.data_dir),
            "CSMS_ADMIN_API_KEY": self.admin_key,
            "RUST_LOG": os.environ.get("CSMS_TEST_RUST_LOG", "info"),
            # No internet here: tests that want spot prices fetched point a
            # runner at a local fake source through extra_env.
            "CSMS_SPOT_FETCH": "off",
        })
        env.update(self.extra_env)
        self._log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [self.binary, *self.args], env=env, stdout=self._log_file, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        last_error: object = None
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                raise AssertionError(
                    f"{self.name} exited with code {code} during startup\n--- log tail ---\n{self.log_tail()}")
            try:
                r = requests.get(f"{self.base_url}/healthz", timeout=1)
                if r.status_code == 200:
                    return self
                last_error = f"HTTP {r.status_code}"
            except requests.RequestException as e:
                last_error = e
            time.sleep(0.1)
        self.kill()
        raise AssertionError(
            f"{self.name} did not answer GET /healthz with 200 within {STARTUP_TIMEOUT_S}s "
            f"(last: {last_error})\n--- log tail ---\n{self.log_tail()}")

    def stop(self, *, check: bool = True, sig: int = signal.SIGTERM) -> int | None:
        """Stop with SIGTERM; with `check`, assert a clean exit (code 0) within 10 s."""
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        try:
            if proc.poll() is not None:
                code = proc.returncode
                if check:
                    raise AssertionError(
                        f"{self.name} had already exited (code {code}) before it was asked to stop"
                        f"\n--- log tail ---\n{self.log_tail()}")
                return code
            proc.send_signal(sig)
            try:
                code = proc.wait(timeout=SHUTDOWN_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                _kill(proc)
                raise AssertionError(
                    f"{self.name} did not exit within {SHUTDOWN_TIMEOUT_S}s of {signal.Signals(sig).name}"
                    f"\n--- log tail ---\n{self.log_tail()}") from None
            if check:
                assert code == 0, (f"{self.name} exited with code {code} after {signal.Signals(sig).name}, "
                                   f"expected 0\n--- log tail ---\n{self.log_tail()}")
            return code
        finally:
            if self._log_file:
                self._log_file.close()
                self._log_file = None

    def kill(self) -> None:
        if self.proc is not None:
            _kill(self.proc)
            self.proc = None
        if self._log_file:
            self._log_file.close()
            self._log_file = None

    def discard(self) -> None:
        self.kill()
        if self in Runner.instances:
            Runner.instances.remove(self)

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path or not self.log_path.exists():
            return "(no log)"
        text = self.log_path.read_bytes().decode("utf-8", "replace").splitlines()
        return "\n".join(text[-lines:]) or "(empty log)"

    # -- addresses

    @property
    def base_url(self) -> str:
        assert self.port is not None, f"{self.name} was never started"
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, station_id: str) -> str:
        assert self.port is not None, f"{self.name} was never started"
        return f"ws://127.0.0.1:{self.port}/ocpp/{station_id}"

    # -- HTTP API

    def api(self, method: str, path: str, json: Any = None, key: str | None = "admin", *,
            data: str | bytes | None = None, params: dict | None = None,
            headers: dict | None = None) -> requests.Response:
        """Call the API at /api/v1{path}. `key="admin"` sends the admin key, `None` no key."""
        h = {}
        if key == "admin":
            key = self.admin_key
        if key is not None:
            h["Authorization"] = f"Bearer {key}"
        if data is not None:
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        return requests.request(method, f"{self.base_url}/api/v1{path}", json=json, data=data,
                                params=params, headers=h, timeout=10)

    def api_ok(self, method: str, path: str, json: Any = None, status: int = 200, **kw) -> Any:
        """Call the API, assert the status and return the JSON body."""
        r = self.api(method, path, json, **kw)
        assert r.status_code == status, (
            f"{method} /api/v1{path} -> HTTP {r.status_code}, expected {status}: {r.text[:500]}")
        return r.json()

    # -- conveniences

    def device_model(self, station_id: str, **filters) -> dict | None:
        """GET /stations/{id}/device-model; None while the station has sent no complete report."""
        r = self.api("GET", f"/stations/{station_id}/device-model", params=filters or None)
        if r.status_code == 404:
            return None
        assert r.status_code == 200, f"device model of {station_id}: HTTP {r.status_code}: {r.text[:500]}"
        return r.json()

    def ensure_site(self, site_id: str, **kw) -> None:
        """Give `site_id` a site record in the caller's organisation unless it has one (a station's
        `siteId` must name a site of its organisation)."""
        r = self.api("POST", "/sites", {"id": site_id, "name": f"Site {site_id}",
                                        "address": {"street": "Gatan 1", "postalCode": "111 22",
                                                    "city": "Stockholm"}}, **kw)
        assert r.status_code in (201, 409), f"POST /sites {site_id}: HTTP {r.status_code}: {r.text[:500]}"

    def create_organisation(self, prefix: str = "org", kind: str = "company",
                            legal_name: str = "Laddbolaget AB") -> str:
        """A new organisation (the platform admin's key), its id starting with `prefix`."""
        org = unique(prefix).lower()
        self.api_ok("POST", "/organisations", {
            "id": org, "kind": kind, "legalName": legal_name, "organisationNumber": "556036-0793",
            "contactEmail": "drift@laddbolaget.se",
            "address": {"street": "Gatan 2", "postalCode": "111 22", "city": "Stockholm"},
        }, status=201)
        return org

    def create_station(self, station_id: str | None = None, password: str | None = None, **fields) -> dict:
        if fields.get("siteId"):
            self.ensure_site(fields["siteId"])
        body = {"id": station_id or unique("CP"), **fields}
        if password is not None:
            body["password"] = password
        return self.api_ok("POST", "/stations", body, status=201)

    def station(self, station_id: str) -> dict:
        return self.api_ok("GET", f"/stations/{quote(station_id)}")

    def create_token(self, id_token: str, status: str = "Accepted", type: str = "ISO14443",
                     expires_at: str | None = None) -> dict:
        body = {"idToken": id_token, "type": type, "status": status}
        if expires_at is not None:
            body["expiresAt"] = expires_at
        return self.api_ok("POST", "/id-tokens", body, status=201)

    def sessions(self, **params) -> dict:
        return self.api_ok("GET", "/sessions", params=params)

    def session_for(self, station_id: str, transaction_id: str | int, timeout: float = 3.0) -> dict:
        """The session of a station's transaction (as listed by GET /sessions?stationId=)."""
        def find():
            items = self.all_sessions(stationId=station_id)
            return next((s for s in items if s.get("transactionId") == str(transaction_id)), None)
        return poll(find, timeout=timeout,
                    what=f"a session with transactionId {transaction_id!s} for station {station_id}",
                    show=lambda: self.all_sessions(stationId=station_id))

    def all_sessions(self, **params) -> list[dict]:
        items: list[dict] = []
        cursor = None
        for _ in range(100):
            p = dict(params)
            if cursor:
                p["cursor"] = cursor
            page = self.sessions(**p)
            items.extend(page["items"])
            cursor = page.get("nextCursor")
            if not cursor:
                return items
        raise AssertionError("more than 100 pages of sessions: the cursor never ends")

    def session(self, session_id: str) -> dict:
        return self.api_ok("GET", f"/sessions/{quote(session_id)}")

    def session_record(self, session_id: str) -> dict:
        """GET /sessions/{id} without its `price`: the same fields as a list item."""
        body = self.session(session_id)
        assert "price" in body, f"GET /sessions/{{id}} has a price field (null until priced): {body}"
        body.pop("price")
        return body

    def meter_values(self, session_id: str) -> list[dict]:
        return self.api_ok("GET", f"/sessions/{quote(session_id)}/meter-values")["items"]


def _kill(proc: subprocess.Popen) -> None:
    """SIGKILL the runner (a single process: it starts no children)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        proc.kill()
    with contextlib.suppress(Exception):
        proc.wait(timeout=5)


def new_data_dir(base: Path, name: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=base))
    return path


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def started_runner(binary: str, base: Path, name: str, data_name: str | None = None,
                   extra_env: dict[str, str] | None = None):
    """A started runner with a fresh data dir under `base` (named after `data_name`, else `name`); on leaving
    it is stopped (SIGTERM, exit 0 within 10 s), then discarded and its data dir removed, also when it failed.
    For module fixtures: `with started_runner(...) as r: yield r`."""
    data_dir = new_data_dir(base, data_name or name)
    r = Runner(binary, data_dir, base / "logs", name=name, extra_env=extra_env)
    try:
        r.start()
        yield r
        r.stop(check=True)
    finally:
        r.discard()
        remove_tree(data_dir)


# --------------------------------------------------------------------------- API assertions


def assert_error(response: requests.Response, status: int, code: str | None = None) -> dict:
    """Assert an API error: the status and `{"error":{"code":"…","message":"…"}}`."""
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url} -> HTTP {response.status_code}, "
        f"expected {status}: {response.text[:500]}")
    try:
        body = response.json()
    except ValueError:
        raise AssertionError(f"error response is not JSON: {response.text[:500]!r}") from None
    err = body.get("error") if isinstance(body, dict) else None
    assert isinstance(err, dict), f"expected {{'error': {{code, message}}}}, got {body!r}"
    assert isinstance(err.get("code"), str) and err["code"], f"error.code must be a non-empty string: {body!r}"
    assert isinstance(err.get("message"), str) and err["message"], (
        f"error.message must be a non-empty string: {body!r}")
    if code is not None:
        assert err["code"] == code, f"expected error.code {code!r}, got {err['code']!r}"
    return err


# --------------------------------------------------------------------------- OCPP chargers


class _Sending:
    """`send(payload)`: a CALL whose CALLERROR raises instead of being swallowed."""

    async def send(self, payload, **kw):
        try:
            return await self.call(payload, suppress=False, **kw)
        except OCPPError as e:
            raise AssertionError(
                f"{type(payload).__name__} was answered with CALLERROR {type(e).__name__}: "
                f"{e.description} {e.details}") from None
        except asyncio.TimeoutError:
            raise AssertionError(
                f"{type(payload).__name__} got no answer within {OCPP_RESPONSE_TIMEOUT_S}s") from None


class Charger16(_Sending, _ChargePoint16):
    """An OCPP 1.6 charge point (client side)."""


class Charger201(_Sending, _ChargePoint201):
    """An OCPP 2.0.1 charging station (client side)."""


async def connect_ws(url: str, subprotocols: list[str] | None, headers: dict[str, str] | None = None):
    return await websockets.connect(
        url, subprotocols=subprotocols, additional_headers=headers, open_timeout=10,
        close_timeout=5, max_size=None,
    )


async def handshake_status(url: str, subprotocols: list[str] | None,
                           headers: dict[str, str] | None = None) -> tuple[int, str | None]:
    """Try the WebSocket handshake: (101, subprotocol) on success, (HTTP status, None) when refused."""
    try:
        ws = await connect_ws(url, subprotocols, headers)
    except websockets.exceptions.InvalidStatus as e:
        return e.response.status_code, None
    try:
        return 101, ws.subprotocol
    finally:
        await ws.close()


@contextlib.asynccontextmanager
async def charger(runner: Runner, station_id: str, version: str = "1.6",
                  password: str | None = None) -> AsyncIterator[Charger16 | Charger201]:
    """A connected charger of the given OCPP version, its receive loop running."""
    sub = SUBPROTOCOL[version]
    headers = basic_auth(station_id, password) if password else None
    try:
        ws = await connect_ws(runner.ws_url(station_id), [sub], headers)
    except websockets.exceptions.InvalidStatus as e:
        raise AssertionError(
            f"WebSocket handshake for {station_id} ({sub}) refused with HTTP {e.response.status_code}") from None
    assert ws.subprotocol == sub, f"negotiated {ws.subprotocol!r}, expected {sub!r}"
    cls = Charger16 if version == "1.6" else Charger201
    cp = cls(station_id, ws, response_timeout=OCPP_RESPONSE_TIMEOUT_S)
    cp.ws = ws  # the websockets connection, for tests that watch the socket itself
    task = asyncio.create_task(cp.start())
    try:
        yield cp
    finally:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        await ws.close()


async def boot_accepted(cp, version: str, model: str = "E2E") -> None:
    """A BootNotification of the charger's version (vendor Acme, `model` with the version), answered Accepted."""
    if version == "1.6":
        result = await cp.send(_call16.BootNotification(charge_point_vendor="Acme", charge_point_model=f"{model}-16"))
    else:
        result = await cp.send(_call201.BootNotification(
            reason="PowerUp", charging_station={"model": f"{model}-201", "vendor_name": "Acme"}))
    assert result.status == "Accepted", result


class RawCharger:
    """A raw WebSocket charger: send any text frame, read the replies as JSON."""

    def __init__(self, ws):
        self.ws = ws
        self.server_calls: list[Any] = []  # CALLs the CSMS sent us (ignored, recorded)

    async def send_text(self, frame: str) -> None:
        await self.ws.send(frame)

    async def reply(self, timeout: float = 5.0) -> list:
        """The next CALLRESULT/CALLERROR frame (server-initiated CALLs are set aside)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise asyncio.TimeoutError
            raw = await asyncio.wait_for(self.ws.recv(), left)
            try:
                msg = json.loads(raw)
            except ValueError:
                raise AssertionError(f"the CSMS sent a frame that is not JSON: {raw[:300]!r}") from None
            assert isinstance(msg, list) and msg, f"the CSMS sent a frame that is not an OCPP-J array: {raw[:300]!r}"
            if msg[0] == 2:
                self.server_calls.append(msg)
                continue
            return msg

    async def expect_reply(self, timeout: float = 5.0) -> list:
        try:
            return await self.reply(timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"no reply from the CSMS within {timeout}s") from None
        except websockets.exceptions.ConnectionClosed as e:
            raise AssertionError(f"the CSMS closed the connection instead of replying: {e}") from None

    async def call(self, message_id: str, action: str, payload: dict) -> list:
        await self.send_text(json.dumps([2, message_id, action, payload]))
        reply = await self.expect_reply()
        assert reply[:2] == [3, message_id], f"{action} was not answered with a CALLRESULT: {reply!r}"
        return reply[2]

    async def heartbeat_works(self, message_id: str) -> None:
        """A valid Heartbeat still gets a CALLRESULT with currentTime."""
        try:
            await self.send_text(json.dumps([2, message_id, "Heartbeat", {}]))
        except websockets.exceptions.ConnectionClosed as e:
            raise AssertionError(f"the socket was closed by the CSMS: {e}") from None
        reply = await self.expect_reply()
        assert isinstance(reply, list) and len(reply) == 3 and reply[0] == 3 and reply[1] == message_id, (
            f"Heartbeat {message_id!r} should get [3, {message_id!r}, {{currentTime}}], got {reply!r}")
        parse_time(reply[2].get("currentTime"))


@contextlib.asynccontextmanager
async def raw_charger(runner: Runner, station_id: str, version: str,
                      boot: bool = True) -> AsyncIterator[RawCharger]:
    """A raw connection with the version's subprotocol; by default it boots first (valid BootNotification)."""
    sub = SUBPROTOCOL[version]
    ws = await connect_ws(runner.ws_url(station_id), [sub])
    assert ws.subprotocol == sub, f"negotiated {ws.subprotocol!r}, expected {sub!r}"
    raw = RawCharger(ws)
    try:
        if boot:
            if version == "1.6":
                payload = {"chargePointVendor": "RawVendor", "chargePointModel": "RawModel"}
            else:
                payload = {"reason": "PowerUp", "chargingStation": {"model": "RawModel", "vendorName": "RawVendor"}}
            result = await raw.call("boot-0", "BootNotification", payload)
            assert result.get("status") == "Accepted", f"BootNotification not accepted: {result!r}"
        yield raw
    finally:
        await ws.close()


async def raw_handshake(port: int, path: str, headers: dict[str, str], timeout: float = 5.0) -> tuple[int, dict]:
    """Send a hand-written HTTP/1.1 upgrade request; return (status, response headers lowercased)."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: 127.0.0.1:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
        ] + [f"{k}: {v}" for k, v in headers.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ")[1])
        parsed = {}
        for line in header_lines:
            if ":" in line:
                k, v = line.split(":", 1)
                parsed[k.strip().lower()] = v.strip()
        return status, parsed
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


def ago(**kw) -> datetime:
    return now_utc() - timedelta(**kw)


def model_values(model: dict) -> dict[tuple, dict[str, str | None]]:
    """A device model as {(component, evseId, connectorId, variable): {attribute type: value}}."""
    return {(c["name"], c["evseId"], c["connectorId"], v["name"]): {a["type"]: a["value"] for a in v["attributes"]}
            for c in model["components"] for v in c["variables"]}


def create_test_tokens(runner: Runner) -> None:
    """TAG-OK (Accepted), TAG-BLOCKED (Blocked), TAG-EXPIRED (Accepted but expired yesterday)."""
    runner.create_token("TAG-OK", "Accepted", "ISO14443")
    runner.create_token("TAG-BLOCKED", "Blocked", "ISO14443")
    runner.create_token("TAG-EXPIRED", "Accepted", "ISO14443", expires_at=iso(ago(days=1)))


def connectors_of(view: dict) -> dict[tuple[int, int], str]:
    """A station view's connector statuses as {(evseId, connectorId): status}."""
    return {(e["id"], c["id"]): c["status"] for e in view["evses"] for c in e["connectors"]}


def assert_reading(readings, when, measurand, value, unit, phase=None, **fields):
    """Among the stored `readings`, one of `measurand` (and `phase`) at `when` has `value` in `unit` and `fields`."""
    found = [r for r in readings
             if parse_time(r["timestamp"]) == when and r["measurand"] == measurand and r.get("phase") == phase]
    assert found, (f"no {measurand} reading (phase {phase}) at {iso(when)} in the meter values:\n"
                   + "\n".join(map(str, readings)))
    ok = [r for r in found if isinstance(r["value"], (int, float)) and abs(r["value"] - value) < 1e-6
          and r["unit"] == unit and all(r.get(k) == v for k, v in fields.items())]
    assert ok, (f"{measurand} (phase {phase}) at {iso(when)}: expected value {value} {unit} {fields}, "
                f"got {found}")


def assert_connected_follows_the_socket(runner: Runner, station: str, version: str, password: str | None,
                                        boot) -> dict:
    """While a charger of `version` is connected (and has run `await boot(cp)`), the station shows `connected`;
    soon after it closes its socket, no longer. The station's view after."""
    async def scenario():
        async with charger(runner, station, version, password) as cp:
            await boot(cp)
            assert runner.station(station)["connected"] is True
        # the client closed the socket
    run(scenario())
    poll(lambda: runner.station(station)["connected"] is False, timeout=5,
         what="connected=false after the charger closed its socket",
         show=lambda: runner.station(station))
    return runner.station(station)
