"""Issue 18, paying at the charger without an app, from the outside, against localstripe: a visitor at a public EVSE
asks its start link for a card hold (POST /start/{key}/payment with the receipt's e-mail), confirms the card the way
Stripe.js would, and starts the charge with the hold; the `ocpp` 1.6 charger gets the remote start for a one-off
identity and charges 8 kWh at 2.50 SEK/kWh; when the session is priced, 25.00 SEK (with VAT) is captured from the 300 SEK hold
(the rest released), booked once as the organisation's revenue (the books balance, the month's settlement counts it
as paid at the chargers), and a receipt is mailed; localstripe's payment_intent.succeeded webhook books nothing more.
A hold starts one charge only; a card not yet confirmed starts nothing; a private EVSE holds nothing; a session of
nothing releases the whole hold."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from ocpp.v16 import call as call16

from csms_e2e import assert_error, boot_accepted, connect_ws, iso, now_utc, poll, quote, run, started_runner, unique
from test_card_payments import SECRET_KEY, WEBHOOK_SECRET, pay_with, stripe  # noqa: F401  (the localstripe fixture)
from test_start_link import Starting16, key_of, public


@pytest.fixture(scope="module")
def runner(csms_bin, e2e_tmp, stripe):  # noqa: F811
    env = {
        "CSMS_STRIPE_SECRET_KEY": SECRET_KEY,
        "CSMS_STRIPE_PUBLISHABLE_KEY": "pk_test_csms_e2e",
        "CSMS_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "CSMS_STRIPE_API_URL": stripe,
    }
    with started_runner(csms_bin, e2e_tmp, "test_pay_at_charger", extra_env=env) as r:
        answer = requests.post(f"{stripe}/_config/webhooks/csms-charger", data={
            "url": f"{r.base_url}/api/v1/providers/stripe/webhook", "secret": WEBHOOK_SECRET,
            "events[]": ["payment_intent.succeeded"]}, timeout=5)
        assert answer.status_code == 200, answer.text
        yield r


def intent_of(stripe: str, intent: str) -> dict:
    return requests.get(f"{stripe}/v1/payment_intents/{intent}", headers={"Authorization": f"Bearer {SECRET_KEY}"},
                        timeout=10).json()


def test_a_visitor_pays_at_the_charger_and_gets_a_receipt(runner, stripe):  # noqa: F811
    cs = runner.create_station(unique("PAY"))["id"]
    tariff = runner.api_ok("POST", "/tariffs", {"name": "Publik", "elements": [
        {"components": [{"type": "energy", "price": {"kind": "fixed", "perKwh": "2.50"}}]}]}, status=201)
    runner.api_ok("POST", "/tariff-assignments", {"tariffId": tariff["id"], "target": {"kind": "station", "id": cs}},
                  status=201)
    runner.api_ok("PUT", f"/stations/{quote(cs)}/evses/1/access", {"default": "public"})
    runner.api_ok("PUT", f"/stations/{quote(cs)}/evses/2/access", {"default": "public"})
    runner.api_ok("PUT", f"/stations/{quote(cs)}/evses/3/access", {"default": "private"})
    links = {evse: key_of(runner, cs, evse)["startUrl"] for evse in (1, 2, 3)}
    link, private_link = links[1], links[3]
    email = f"{unique('besok').lower()}@example.com"

    async def scenario():
        ws = await connect_ws(runner.ws_url(cs), ["ocpp1.6"])
        cp = Starting16(cs, ws, response_timeout=10)
        task = asyncio.create_task(cp.start())
        try:
            await steps(cp)
        finally:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            await ws.close()

    async def charge(cp, tag: str, wh: int, connector: int = 1) -> str:
        auth = await cp.send(call16.Authorize(id_tag=tag))
        assert auth.id_tag_info["status"] == "Accepted", auth
        start = now_utc() - timedelta(minutes=40)
        tx = await cp.send(call16.StartTransaction(connector_id=connector, id_tag=tag, meter_start=1000,
                                                    timestamp=iso(start)))
        assert tx.id_tag_info["status"] == "Accepted", tx
        await cp.send(call16.StopTransaction(transaction_id=tx.transaction_id, meter_stop=1000 + wh,
                                             timestamp=iso(start + timedelta(minutes=30)), id_tag=tag))
        return f"{cs}~{tx.transaction_id}"

    async def hold_and_start(cp, link: str = link, number: str = "4242424242424242") -> tuple[str, dict]:
        r = await public("POST", f"{link}/payment", json={"email": email})
        assert r.status_code == 201, r.text
        hold = r.json()
        assert (hold["amount"], hold["currency"], hold["publishableKey"]) == ("300", "SEK", "pk_test_csms_e2e"), hold
        intent = hold["paymentIntentId"]
        held = intent_of(stripe, intent)
        assert (held["amount"], held["capture_method"], held["metadata"]["kind"]) == (
            30000, "manual", "chargerPayment"), held
        # Not confirmed yet: nothing starts.
        r = await public("POST", f"{link}/payment/{intent}/start")
        assert r.status_code == 409 and "confirm the card" in r.json()["error"]["message"], r.text
        confirmed = await asyncio.to_thread(pay_with, stripe, intent, number)
        assert confirmed.status_code == 200 and confirmed.json()["status"] == "requires_capture", confirmed.text
        r = await public("POST", f"{link}/payment/{intent}/start", params={"wait": 10})
        assert r.status_code == 200 and r.json()["status"] == "accepted", r.text
        return intent, r.json()

    async def steps(cp):
        await boot_accepted(cp, "1.6")
        await cp.send(call16.StatusNotification(connector_id=1, error_code="NoError", status="Available"))
        # Bad input names its field; a private EVSE holds nothing.
        r = await public("POST", f"{link}/payment", json={"email": "not an address"})
        assert r.status_code == 400 and "email" in r.json()["error"]["message"], r.text
        r = await public("POST", f"{private_link}/payment", json={"email": email})
        assert r.status_code == 403 and r.json()["reason"] == "signInRequired", r.text

        intent, started = await hold_and_start(cp)
        tag = started["idToken"]
        action, payload = cp.received[-1]
        assert action == "RemoteStartTransaction" and payload["idTag"] == tag, cp.received
        # One hold, one charge.
        r = await public("POST", f"{link}/payment/{intent}/start")
        assert r.status_code == 409 and "already" in r.json()["error"]["message"], r.text
        assert "paid at the charger" in runner.api_ok("GET", f"/id-tokens/{tag}")["label"]
        session = await charge(cp, tag, 8_000)

        # Priced: 8 kWh × 2.50 = 20.00 and VAT, 25.00 captured, the rest released.
        def captured():
            pi = intent_of(stripe, intent)
            return pi if pi["status"] == "succeeded" else None
        pi = await asyncio.to_thread(poll, captured, timeout=20, what="the hold to be captured")
        # localstripe keeps a capture of less than the hold as the charge with the rest refunded (released).
        charge_id = pi["latest_charge"]["id"] if isinstance(pi["latest_charge"], dict) else pi["latest_charge"]
        charged = requests.get(f"{stripe}/v1/charges/{charge_id}", headers={"Authorization": f"Bearer {SECRET_KEY}"},
                              timeout=10).json()
        price = runner.api_ok("GET", f"/sessions/{quote(session)}/price")
        assert Decimal(price["gross"]) == Decimal("25.00"), price  # 20.00 and 25 % VAT
        assert charged["captured"] is True and charged["amount"] - charged["amount_refunded"] == 2500, charged

        # A session of nothing releases the whole hold.
        intent2, started2 = await hold_and_start(cp, links[2])
        await charge(cp, started2["idToken"], 0, connector=2)

        def released():
            p = intent_of(stripe, intent2)
            return p if p["status"] == "canceled" else None
        await asyncio.to_thread(poll, released, timeout=20, what="the empty session's hold to be released")

    run(scenario())

    # Booked once as the organisation's revenue; the books balance.
    books = runner.api_ok("GET", "/ledger/reconciliation")
    assert books["balanced"] is True, books
    accounts = {a["account"]: a for a in runner.api_ok("GET", "/ledger/accounts")["items"]}
    assert Decimal(accounts["clearing:stripe"]["balance"]) == Decimal("25.00"), accounts
    # The receipt, once, with what was paid.
    def receipts():
        found = [m for m in runner.api_ok("GET", "/outbox", params={"limit": 500})["items"] if m["to"] == email]
        return found or None
    mails = poll(receipts, timeout=10, what="the receipt")
    assert len(mails) == 1 and "Kvitto" in mails[0]["subject"], mails
    text = runner.api("GET", f"/outbox/{mails[0]['id']}").content.decode()
    assert "25,00" in text and "8 kWh" in text and "5,00" in text, text
    # localstripe's succeeded event for the capture is not a payment of an invoice: nothing waits unmatched.
    time.sleep(2.5)
    unmatched = runner.api_ok("GET", "/payments/unmatched")["items"]
    assert all("pi_" not in (p.get("id") or "") for p in unmatched), unmatched
    # The month's settlement counts it as paid at the chargers.
    period = now_utc().astimezone(__import__("zoneinfo").ZoneInfo("Europe/Stockholm")).strftime("%Y-%m")
    s = runner.api_ok("GET", f"/settlements/{period}")
    assert Decimal(s["publicRevenue"]) == Decimal("25.00") and s["reconciles"], s
