"""Load test: N OCPP 1.6 chargers over localhost against csms-local at the default log level.

Run on demand (not part of ./tests/run.sh; the end-to-end suite runs a short version of it,
tests/e2e/test_hostile_connections.py::test_a_short_load_run_is_answered_in_full):

    cargo build -p csms-local
    ulimit -n 8192          # the client needs a socket per charger too
    .venv/bin/python tests/load/chargers.py --bin target/debug/csms-local \
        --chargers 1000 --rate 1200 --seconds 60

It starts its own runner (fresh data dir, RUST_LOG=info unless set), registers the stations,
connects every charger (each boots once), then sends Heartbeats and MeterValues — alternately,
spread evenly over the chargers — at `--rate` messages per second in total for `--seconds`,
and prints the round-trip p50/p99/max, how many messages went unanswered, and whether the runner
was still up (and answering /healthz) at the end. Chargers connect from several loopback source
addresses (127.1.0.1 …) so that the per-address connection cap is not what is being measured.
Exit code 0 when every message was answered and the runner stayed up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "e2e"))
from csms_e2e import Runner, iso, now_utc, remove_tree  # noqa: E402

CHARGERS_PER_SOURCE = 200


@dataclass
class Stats:
    sent: int = 0
    answered: int = 0
    errors: list[str] = field(default_factory=list)
    rtts_ms: list[float] = field(default_factory=list)
    connect_failures: int = 0

    def percentile(self, p: float) -> float:
        if not self.rtts_ms:
            return float("nan")
        xs = sorted(self.rtts_ms)
        return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]

    def summary(self) -> dict:
        return {
            "sent": self.sent,
            "answered": self.answered,
            "unanswered": self.sent - self.answered,
            "connectFailures": self.connect_failures,
            "p50_ms": round(self.percentile(50), 2),
            "p99_ms": round(self.percentile(99), 2),
            "max_ms": round(max(self.rtts_ms), 2) if self.rtts_ms else None,
            "errors": self.errors[:5],
        }


def _meter_values(i: int) -> dict:
    return {
        "connectorId": 1,
        "meterValue": [{
            "timestamp": iso(now_utc()),
            "sampledValue": [
                {"value": str(1000 + i), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
                {"value": "7200", "measurand": "Power.Active.Import", "unit": "W"},
            ],
        }],
    }


async def _call(ws, stats: Stats, message_id: str, action: str, payload: dict, timeout: float) -> None:
    stats.sent += 1
    t0 = time.perf_counter()
    await ws.send(json.dumps([2, message_id, action, payload]))
    while True:
        raw = await asyncio.wait_for(ws.recv(), timeout)
        msg = json.loads(raw)
        if msg[0] == 2:  # a CALL from the CSMS: not what we wait for
            continue
        break
    stats.rtts_ms.append((time.perf_counter() - t0) * 1000)
    if msg[0] == 3 and msg[1] == message_id:
        stats.answered += 1
    else:
        stats.errors.append(f"{action}: {raw[:200]}")


def source_address(index: int, per_source: int) -> str:
    """Loopback source addresses 127.1.0.1, 127.1.0.2, …: `per_source` chargers each."""
    group = index // per_source
    return f"127.1.{group // 250}.{group % 250 + 1}"


async def _charger(url: str, index: int, stats: Stats, start: asyncio.Event, interval: float,
                   offset: float, window: dict, timeout: float, per_source: int) -> None:
    source = source_address(index, per_source)
    try:
        ws = await websockets.connect(url, subprotocols=["ocpp1.6"], open_timeout=30, ping_interval=None,
                                      max_size=None, local_addr=(source, 0))
    except Exception as e:  # noqa: BLE001 - counted and reported
        stats.connect_failures += 1
        stats.errors.append(f"connect {index}: {e!r}")
        return
    try:
        await _call(ws, stats, "boot", "BootNotification",
                    {"chargePointVendor": "Load", "chargePointModel": "Test"}, timeout)
        await start.wait()
        await asyncio.sleep(offset)
        n = 0
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while loop.time() < window["until"]:
            n += 1
            if n % 2:
                await _call(ws, stats, f"h{n}", "Heartbeat", {}, timeout)
            else:
                await _call(ws, stats, f"m{n}", "MeterValues", _meter_values(n), timeout)
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - loop.time()))
    except Exception as e:  # noqa: BLE001 - counted and reported
        stats.errors.append(f"charger {index}: {e!r}")
    finally:
        await ws.close()


async def run_load(runner: Runner, chargers: int, rate: float, seconds: float,
                   timeout: float = 30.0, per_source: int = CHARGERS_PER_SOURCE) -> dict:
    """Register `chargers` stations, connect them, send `rate` msg/s in total for `seconds`."""
    ids = [f"LOAD-{i:05d}" for i in range(chargers)]
    with requests.Session() as http:
        for sid in ids:
            r = http.post(f"{runner.base_url}/api/v1/stations", json={"id": sid},
                          headers={"Authorization": f"Bearer {runner.admin_key}"}, timeout=10)
            assert r.status_code in (201, 409), f"registering {sid}: HTTP {r.status_code} {r.text[:200]}"
    stats = Stats()
    start = asyncio.Event()
    interval = chargers / rate  # seconds between two messages of one charger
    loop = asyncio.get_running_loop()
    connect_started = time.monotonic()
    tasks = []
    window = {"until": 0.0}  # set when every charger has booted
    # Connect in batches: a thousand handshakes at once would measure the client's own backlog.
    for i, sid in enumerate(ids):
        tasks.append(asyncio.create_task(_charger(
            runner.ws_url(sid), i, stats, start, interval, (i / chargers) * interval,
            window, timeout, per_source)))
        if i % 50 == 49:
            await asyncio.sleep(0.05)
    # Wait until every charger has booted (or failed), then start the clock.
    deadline = time.monotonic() + 120
    while stats.sent < chargers - stats.connect_failures and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    while stats.answered + len(stats.errors) < stats.sent and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    connect_seconds = time.monotonic() - connect_started
    boot_rtts = list(stats.rtts_ms)
    stats.rtts_ms.clear()
    window["until"] = loop.time() + seconds
    start.set()
    await asyncio.gather(*tasks)
    result = stats.summary()
    result.update({
        "chargers": chargers,
        "targetRate": rate,
        "seconds": seconds,
        "achievedRate": round((stats.sent - chargers) / seconds, 1),
        "connectSeconds": round(connect_seconds, 1),
        "bootP99_ms": round(sorted(boot_rtts)[int(0.99 * (len(boot_rtts) - 1))], 2) if boot_rtts else None,
    })
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=os.environ.get("CSMS_LOCAL_BIN", "target/debug/csms-local"))
    ap.add_argument("--chargers", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=1200, help="messages per second, all chargers together")
    ap.add_argument("--seconds", type=float, default=60)
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="csms-load-"))
    runner = Runner(args.bin, base / "data", base / "logs", name="load", extra_env={
        "RUST_LOG": os.environ.get("RUST_LOG", "info"),
        "CSMS_MAX_CONNECTIONS_PER_ADDRESS": str(CHARGERS_PER_SOURCE + 50),
    })
    runner.start()
    try:
        result = asyncio.run(run_load(runner, args.chargers, args.rate, args.seconds))
        up = runner.running
        healthy = False
        if up:
            try:
                healthy = requests.get(f"{runner.base_url}/healthz", timeout=5).status_code == 200
            except requests.RequestException:
                healthy = False
        result["runnerUp"] = up and healthy
        result["log"] = str(runner.log_path)
        print(json.dumps(result, indent=2))
        ok = result["runnerUp"] and result["unanswered"] == 0 and result["connectFailures"] == 0
        return 0 if ok else 1
    finally:
        if runner.running:
            runner.stop(check=False)
        runner.discard()
        remove_tree(base / "data")


if __name__ == "__main__":
    sys.exit(main())
