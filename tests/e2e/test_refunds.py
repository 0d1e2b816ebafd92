"""Issue 18, refunds end to end: a card-paid invoice credited in full is refunded through localstripe (two refunds,
each a real Stripe refund of the PaymentIntent, booked once); the same Idempotency-Key answers the refund it made and
refunds nothing twice; more than the credit balance is a 409 saying what is left; Stripe's refund webhook for a
refund told before changes nothing. A Bankgiro-paid invoice cannot be refunded automatically (409 naming it) and is
recorded as refunded by hand with the bank's reference. The ledger balances, both clearing accounts are back where
they were, and the month's settlement figures reconcile to the öre with the refunds. Another organisation sees none
of it."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest
import requests

from billing_e2e import PASSWORD, invoiced_driver
from csms_e2e import assert_error, now_utc, quote, started_runner, unique
from test_card_payments import SECRET_KEY, WEBHOOK_SECRET, pay_with, signed, stripe  # noqa: F401  (a fixture)
from test_invoices import Driver, admin_key_of, bgmax_file, org_body


@pytest.fixture(scope="module")
def runner(csms_bin, e2e_tmp, stripe):  # noqa: F811
    env = {
        "CSMS_STRIPE_SECRET_KEY": SECRET_KEY,
        "CSMS_STRIPE_PUBLISHABLE_KEY": "pk_test_csms_e2e",
        "CSMS_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "CSMS_STRIPE_API_URL": stripe,
    }
    with started_runner(csms_bin, e2e_tmp, "test_refunds", extra_env=env) as r:
        hook = f"{r.base_url}/api/v1/providers/stripe/webhook"
        answer = requests.post(f"{stripe}/_config/webhooks/csms", data={
            "url": hook, "secret": WEBHOOK_SECRET, "events[]": ["payment_intent.succeeded"]}, timeout=5)
        assert answer.status_code == 200, answer.text
        yield r


def refund(runner, iid: str, body: dict, key: str, idem: str | None) -> requests.Response:
    headers = {"Idempotency-Key": idem} if idem else {}
    return runner.api("POST", f"/invoices/{iid}/refunds", body, key=key, headers=headers)


def credit_all(runner, key: str, iid: str) -> dict:
    inv = runner.api_ok("GET", f"/invoices/{iid}", key=key)
    runner.api_ok("POST", f"/invoices/{iid}/credit-notes",
                  {"sessions": [line["sessionId"] for line in inv["lines"]], "reason": "Laddaren mätte fel"},
                  status=201, key=key)
    return runner.api_ok("GET", f"/invoices/{iid}", key=key)


def account(books: dict, name: str) -> dict:
    return next(a for a in books["accounts"] if a["account"] == name)


def test_a_card_paid_invoice_credited_is_refunded_through_stripe_once(runner, stripe):  # noqa: F811
    world = invoiced_driver(runner, "refcard", wh=9_000)
    key, invoice = world["key"], world["invoice"]
    iid, gross = quote(invoice["id"]), Decimal(invoice["gross"])

    # Paid by card, as the payment page does it.
    cay = Driver(runner, world["email"], PASSWORD)
    r = cay.http.post(f"{cay.base}/me/invoices/{iid}/card-payment", headers={"X-CSRF-Token": cay.csrf}, timeout=10)
    assert r.status_code == 200, r.text
    intent = r.json()["paymentIntentId"]
    paid = pay_with(stripe, intent, "4242424242424242")
    assert paid.status_code == 200 and paid.json()["status"] == "succeeded", paid.text
    deadline = time.monotonic() + 15
    while runner.api_ok("GET", f"/invoices/{iid}", key=key)["status"] != "paid":
        assert time.monotonic() < deadline, "the card payment did not pay the invoice"
        time.sleep(0.3)

    # Nothing credited: nothing to refund.
    err = assert_error(refund(runner, iid, {"amount": "1.00", "reason": "Test"}, key, "k0"), 409)
    assert "0 SEK left to refund" in err["message"] or "0.00 SEK left" in err["message"], err
    credited = credit_all(runner, key, iid)
    assert Decimal(credited["credited"]) == gross, credited

    # The key is required, fields are named.
    assert "Idempotency-Key" in assert_error(refund(runner, iid, {"amount": "1", "reason": "x"}, key, None),
                                             400)["message"]
    for body, field in [({"amount": "-1", "reason": "x"}, "amount"), ({"amount": "1.001", "reason": "x"}, "amount"),
                        ({"amount": "ten", "reason": "x"}, "amount"), ({"amount": "1", "reason": ""}, "reason"),
                        ({"amount": "1", "reason": "x", "method": "cash"}, "method"),
                        ({"amount": "1", "reason": "x", "paymentId": "bgmax:1:1"}, "paymentId")]:
        assert assert_error(refund(runner, iid, body, key, unique("k")), 400)["message"].startswith(field), body
    # More than the credit balance: 409 saying what is left.
    err = assert_error(refund(runner, iid, {"amount": str(gross + Decimal("0.01")), "reason": "x"}, key, "k1"), 409)
    assert f"{gross} SEK left to refund" in err["message"], err

    first_amount = gross - Decimal("1.00")
    first = refund(runner, iid, {"amount": str(first_amount), "reason": "Kreditfaktura K1"}, key, "k2")
    assert first.status_code == 201, first.text
    first = first.json()
    assert first["status"] == "succeeded" and first["method"] == "stripe", first
    assert first["paymentId"] == f"stripe:{intent}" and first["providerRefundId"].startswith("re_"), first
    # Stripe holds the refund as asked: the amount in öre, our refund in its metadata.
    held = requests.get(f"{stripe}/v1/refunds/{first['providerRefundId']}",
                        headers={"Authorization": f"Bearer {SECRET_KEY}"}, timeout=10).json()
    assert held["amount"] == int(first_amount * 100) and held["metadata"]["refund_id"] == first["id"], held

    # The same key again: the same refund, nothing new at Stripe or in the books.
    again = refund(runner, iid, {"amount": str(first_amount), "reason": "Kreditfaktura K1"}, key, "k2")
    assert again.status_code == 200 and again.json()["id"] == first["id"], again.text
    listed = requests.get(f"{stripe}/v1/refunds", params={"payment_intent": intent},
                          headers={"Authorization": f"Bearer {SECRET_KEY}"}, timeout=10).json()["data"]
    assert len(listed) == 1, listed

    # The rest, then nothing is left.
    rest = refund(runner, iid, {"amount": "1.00", "reason": "Resten", "paymentId": f"stripe:{intent}"}, key, "k3")
    assert rest.status_code == 201 and rest.json()["status"] == "succeeded", rest.text
    err = assert_error(refund(runner, iid, {"amount": "0.01", "reason": "x"}, key, "k4"), 409)
    assert "left to refund" in err["message"], err

    # Stripe's webhook for a refund told before: signed, accepted, nothing moves.
    event = {"id": "evt_refund_1", "type": "refund.updated", "created": int(time.time()),
             "data": {"object": held | {"status": "succeeded"}}}
    body = json.dumps(event)
    told = requests.post(f"{runner.base_url}/api/v1/providers/stripe/webhook", data=body, headers=signed(body),
                         timeout=10)
    assert told.status_code == 200 and told.json()["outcome"] == "refundUnchanged", told.text

    refunds = runner.api_ok("GET", f"/invoices/{iid}/refunds", key=key)["items"]
    assert [(r["id"], r["status"], Decimal(r["amount"])) for r in refunds] == [
        (first["id"], "succeeded", first_amount), (rest.json()["id"], "succeeded", Decimal("1.00"))], refunds

    # The books: invoice, payment, credit note and two refunds, balanced; the Stripe clearing account is back at 0.
    books = runner.api_ok("GET", "/ledger/reconciliation", key=key)
    assert books["balanced"] is True and books["transactions"] == 5, books
    clearing = account(books, "clearing:stripe")
    assert Decimal(clearing["debits"]) == gross and Decimal(clearing["credits"]) == gross, clearing

    # The month's settlement: paid in less refunded = payouts + fees + held, to the öre; no driver credit is left.
    period = now_utc().astimezone(__import__("zoneinfo").ZoneInfo("Europe/Stockholm")).strftime("%Y-%m")
    s = runner.api_ok("GET", f"/settlements/{period}", key=key)
    assert Decimal(s["refunded"]) == gross and s["refunds"] == 2 and Decimal(s["driverCredit"]) == 0, s
    assert s["reconciles"] is True, s
    assert Decimal(s["paidInTotal"]) == Decimal(s["payoutsTotal"]) + Decimal(s["feesTotal"]) + Decimal(s["held"]), s

    # Another organisation sees none of it.
    other = unique("brf-refother").lower()
    runner.api_ok("POST", "/organisations", org_body(other), status=201)
    other_key = admin_key_of(runner, other)
    assert_error(runner.api("GET", f"/invoices/{iid}/refunds", key=other_key), 404)
    assert_error(refund(runner, iid, {"amount": "1.00", "reason": "x"}, other_key, "k9"), 404)


def test_a_bankgiro_paid_invoice_is_refunded_by_hand(runner):
    world = invoiced_driver(runner, "refbg", wh=6_000)
    key, invoice = world["key"], world["invoice"]
    iid, gross = quote(invoice["id"]), Decimal(invoice["gross"])
    deposit = now_utc().microsecond % 100_000
    text = bgmax_file(deposit, [(invoice["ocr"], int(gross * 100))])
    r = runner.api("POST", "/payments/bankgiro", data=text.encode(), headers={"Content-Type": "text/plain"})
    assert r.status_code == 200 and len(r.json()["matched"]) == 1, r.text
    credit_all(runner, key, iid)

    half = (gross / 2).quantize(Decimal("0.01"))
    err = assert_error(refund(runner, iid, {"amount": str(half), "reason": "Kredit"}, key, "b1"), 409)
    assert "bankgiro" in err["message"] and "manual" in err["message"], err
    err = assert_error(refund(runner, iid, {"amount": str(half), "reason": "Kredit", "method": "manual"}, key, "b2"),
                       400)
    assert err["message"].startswith("bankReference"), err
    made = refund(runner, iid, {"amount": str(half), "reason": "Kredit", "method": "manual",
                                "bankReference": "SEB 2026-12-08 4711"}, key, "b3")
    assert made.status_code == 201, made.text
    made = made.json()
    assert made["status"] == "succeeded" and made["method"] == "manual", made
    assert made["paymentId"] == f"bgmax:{deposit}:000000000001" and made["bankReference"] == "SEB 2026-12-08 4711"
    again = refund(runner, iid, {"amount": str(half), "reason": "Kredit", "method": "manual",
                                 "bankReference": "SEB 2026-12-08 4711"}, key, "b3")
    assert again.status_code == 200 and again.json()["id"] == made["id"], again.text

    books = runner.api_ok("GET", "/ledger/reconciliation", key=key)
    assert books["balanced"] is True and books["transactions"] == 4, books
    clearing = account(books, "clearing:bankgiro")
    assert Decimal(clearing["credits"]) >= half, clearing
    period = now_utc().astimezone(__import__("zoneinfo").ZoneInfo("Europe/Stockholm")).strftime("%Y-%m")
    s = runner.api_ok("GET", f"/settlements/{period}", key=key)
    # Half refunded, half still the driver's credit: held back from the payout.
    assert Decimal(s["refunded"]) == half and Decimal(s["driverCredit"]) == gross - half, s
    assert s["reconciles"] is True and Decimal(s["held"]) >= gross - half, s
