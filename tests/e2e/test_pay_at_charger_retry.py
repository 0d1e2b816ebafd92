"""Issue 18, a capture at the charger that fails is tried again, from the outside: the CSMS reaches localstripe
through a small proxy that answers 503 to the captures the test tells it to fail. The first capture of a 1.6 charge
paid at the charger fails; an open `chargerCaptureFailed` alarm shows it with the session, the attempt and when it is
tried again, the billing sweep (every 2 s here, retries after 1 s) tries again, the capture lands, exactly one capture
reaches Stripe, it is booked once and the alarm resolves itself. A capture that keeps failing is given up after the
last attempt: a critical `chargerCaptureAbandoned` alarm asks the operator to finish it in Stripe, the retries stop,
and the hold is still held (never captured twice, never lost quietly)."""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from ocpp.v16 import call as call16

from csms_e2e import boot_accepted, connect_ws, free_port, iso, now_utc, poll, quote, run, started_runner, unique
from test_card_payments import SECRET_KEY, WEBHOOK_SECRET, pay_with, stripe  # noqa: F401  (the localstripe fixture)
from test_start_link import Starting16, key_of, public


class FlakyStripe:
    """A proxy in front of localstripe: a capture of an intent in `fail` gets a 503 (its count down by one, or
    forever for -1) instead of reaching Stripe; every capture that reaches Stripe is counted per intent."""

    def __init__(self, upstream: str):
        self.upstream = upstream
        self.fail: dict[str, int] = {}
        self.reached: dict[str, int] = {}
        self.refused: dict[str, int] = {}
        self.lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                parts = self.path.split("/")
                capture = self.command == "POST" and len(parts) == 5 and parts[2] == "payment_intents" \
                    and parts[4].split("?")[0] == "capture"
                if capture:
                    intent = parts[3]
                    with proxy.lock:
                        left = proxy.fail.get(intent, 0)
                        if left:
                            proxy.fail[intent] = left - 1 if left > 0 else left
                            proxy.refused[intent] = proxy.refused.get(intent, 0) + 1
                        else:
                            proxy.reached[intent] = proxy.reached.get(intent, 0) + 1
                    if left:
                        answer = b'{"error":{"type":"api_error","message":"the proxy made it fail"}}'
                        self.send_response(503)
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Content-Length", str(len(answer)))
                        self.end_headers()
                        self.wfile.write(answer)
                        return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                r = requests.request(self.command, proxy.upstream + self.path, data=body, headers=headers, timeout=10)
                self.send_response(r.status_code)
                self.send_header("Content-Type", r.headers.get("Content-Type", "application/json"))
                self.send_header("Content-Length", str(len(r.content)))
                self.end_headers()
                self.wfile.write(r.content)

            do_GET = do_POST = do_DELETE = forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def flaky(stripe):  # noqa: F811
    proxy = FlakyStripe(stripe)
    yield proxy
    proxy.close()


@pytest.fixture(scope="module")
def runner(csms_bin, e2e_tmp, flaky):
    env = {
        "CSMS_STRIPE_SECRET_KEY": SECRET_KEY,
        "CSMS_STRIPE_PUBLISHABLE_KEY": "pk_test_csms_e2e",
        "CSMS_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "CSMS_STRIPE_API_URL": flaky.url,
        "CSMS_BILLING_SWEEP_SECONDS": "2",
        "CSMS_CHARGER_CAPTURE_RETRY_SECONDS": "1",
        "CSMS_CHARGER_CAPTURE_ATTEMPTS": "3",
    }
    with started_runner(csms_bin, e2e_tmp, "test_pay_at_charger_retry", extra_env=env) as r:
        yield r


def intent_of(stripe: str, intent: str) -> dict:
    return requests.get(f"{stripe}/v1/payment_intents/{intent}", headers={"Authorization": f"Bearer {SECRET_KEY}"},
                        timeout=10).json()


def alarm(runner, alarm_id: str) -> dict | None:
    r = runner.api("GET", f"/alarms/{quote(alarm_id)}")
    return r.json() if r.status_code == 200 else None


def test_a_failed_capture_is_tried_again_once_and_a_lost_cause_is_handed_to_the_operator(runner, stripe, flaky):  # noqa: F811
    cs = runner.create_station(unique("PAYR"))["id"]
    tariff = runner.api_ok("POST", "/tariffs", {"name": "Publik", "elements": [
        {"components": [{"type": "energy", "price": {"kind": "fixed", "perKwh": "2.50"}}]}]}, status=201)
    runner.api_ok("POST", "/tariff-assignments", {"tariffId": tariff["id"], "target": {"kind": "station", "id": cs}},
                  status=201)
    for evse in (1, 2):
        runner.api_ok("PUT", f"/stations/{quote(cs)}/evses/{evse}/access", {"default": "public"})
    links = {evse: key_of(runner, cs, evse)["startUrl"] for evse in (1, 2)}
    email = f"{unique('besok').lower()}@example.com"
    results: dict[str, str] = {}

    async def scenario():
        ws = await connect_ws(runner.ws_url(cs), ["ocpp1.6"])
        cp = Starting16(cs, ws, response_timeout=10)
        task = asyncio.create_task(cp.start())
        try:
            await boot_accepted(cp, "1.6")
            for connector in (1, 2):
                await cp.send(call16.StatusNotification(connector_id=connector, error_code="NoError",
                                                        status="Available"))
            # One capture fails, then lands on the sweep's retry.
            intent, tag = await hold_and_start(cp, links[1])
            flaky.fail[intent] = 1
            results["intent"], results["session"] = intent, await charge(cp, tag, 8_000, 1)
            # Every capture fails: given up after 3 attempts.
            intent2, tag2 = await hold_and_start(cp, links[2])
            flaky.fail[intent2] = -1
            results["intent2"], results["session2"] = intent2, await charge(cp, tag2, 4_000, 2)
        finally:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            await ws.close()

    async def hold_and_start(cp, link: str) -> tuple[str, str]:
        r = await public("POST", f"{link}/payment", json={"email": email})
        assert r.status_code == 201, r.text
        intent = r.json()["paymentIntentId"]
        confirmed = await asyncio.to_thread(pay_with, stripe, intent, "4242424242424242")
        assert confirmed.status_code == 200 and confirmed.json()["status"] == "requires_capture", confirmed.text
        r = await public("POST", f"{link}/payment/{intent}/start", params={"wait": 10})
        assert r.status_code == 200 and r.json()["status"] == "accepted", r.text
        return intent, r.json()["idToken"]

    async def charge(cp, tag: str, wh: int, connector: int) -> str:
        start = now_utc() - timedelta(minutes=40)
        tx = await cp.send(call16.StartTransaction(connector_id=connector, id_tag=tag, meter_start=1000,
                                                    timestamp=iso(start)))
        assert tx.id_tag_info["status"] == "Accepted", tx
        await cp.send(call16.StopTransaction(transaction_id=tx.transaction_id, meter_stop=1000 + wh,
                                             timestamp=iso(start + timedelta(minutes=30)), id_tag=tag))
        return f"{cs}~{tx.transaction_id}"

    run(scenario())
    intent, session = results["intent"], results["session"]

    # The failure is visible to the operator while it waits for its retry (or already resolved by it).
    def failed_seen():
        return alarm(runner, f"charger-capture:{intent}")
    pending = poll(failed_seen, timeout=20, what="the failed capture's alarm")
    assert pending["kind"] == "chargerCaptureFailed" and pending["severity"] == "warning", pending
    assert pending["details"]["sessionId"] == session and pending["details"]["intentId"] == intent, pending
    assert pending["details"]["attempts"] == 1 and "nextAttemptAt" in pending["details"], pending

    # The sweep's retry lands: captured once, the alarm resolved, booked once.
    def captured():
        pi = intent_of(stripe, intent)
        return pi if pi["status"] == "succeeded" else None
    poll(captured, timeout=30, what="the retried capture")
    poll(lambda: (a := alarm(runner, f"charger-capture:{intent}")) and a.get("resolvedAt") and a,
         timeout=15, what="the failed capture's alarm to resolve")
    assert flaky.refused[intent] == 1 and flaky.reached[intent] == 1, (flaky.refused, flaky.reached)

    # The one that keeps failing: 3 attempts, then a critical alarm for the operator, and no more tries.
    intent2, session2 = results["intent2"], results["session2"]
    abandoned = poll(lambda: alarm(runner, f"charger-capture-abandoned:{intent2}"), timeout=40,
                     what="the given-up capture's alarm")
    assert abandoned["kind"] == "chargerCaptureAbandoned" and abandoned["severity"] == "critical", abandoned
    assert abandoned["details"]["attempts"] == 3 and abandoned["details"]["sessionId"] == session2, abandoned
    assert "Stripe" in abandoned["suggestedAction"], abandoned
    assert alarm(runner, f"charger-capture:{intent2}")["resolvedAt"], "the pending alarm is closed when given up"
    tried = flaky.refused[intent2]
    assert tried == 3, flaky.refused
    time.sleep(5)
    assert flaky.refused[intent2] == tried and intent2 not in flaky.reached, (flaky.refused, flaky.reached)
    assert intent_of(stripe, intent2)["status"] == "requires_capture"

    # The books: the landed capture once (8 kWh × 2.50 + 25 % VAT), nothing of the one given up.
    accounts = {a["account"]: a for a in runner.api_ok("GET", "/ledger/accounts")["items"]}
    assert Decimal(accounts["clearing:stripe"]["balance"]) == Decimal("25.00"), accounts
    assert runner.api_ok("GET", "/ledger/reconciliation")["balanced"] is True
