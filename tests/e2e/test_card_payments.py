"""Issue 18, card payments from the outside, against localstripe (a stateful fake of Stripe's API that signs its
webhooks as Stripe does): a driver's invoice gets a PaymentIntent for what is due through
POST /me/invoices/{id}/card-payment; the card is confirmed with localstripe the way Stripe.js would (a PaymentMethod
attached, the intent confirmed); a declined card leaves the invoice unpaid; a good card's payment_intent.succeeded,
signed by localstripe and delivered to /api/v1/providers/stripe/webhook, pays the invoice and is booked once; the same
event delivered again books nothing; a forged one is refused; the books balance. Nobody but the invoice's driver can
start a payment."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from billing_e2e import PASSWORD, invoiced_driver
from csms_e2e import assert_error, free_port, poll, quote, started_runner, unique
from test_invoices import Driver, admin_key_of, org_body

SECRET_KEY = "sk_test_csms_e2e"
WEBHOOK_SECRET = "whsec_csms_e2e_card_payments"


@pytest.fixture(scope="module")
def stripe(e2e_tmp):
    """localstripe on a free port, from scratch; stopped after the module."""
    port = free_port()
    binary = Path(__import__("sys").executable).parent / "localstripe"
    assert binary.exists(), f"{binary} is missing: ./tests/run.sh installs tests/requirements.txt"
    log = open(e2e_tmp / "localstripe.log", "wb")
    proc = subprocess.Popen([str(binary), "--port", str(port), "--from-scratch"], stdout=log,
                            stderr=subprocess.STDOUT, cwd=e2e_tmp)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(f"{base}/v1/balance", headers={"Authorization": f"Bearer {SECRET_KEY}"}, timeout=1)
                break
            except requests.ConnectionError:
                assert proc.poll() is None, (e2e_tmp / "localstripe.log").read_text()[-2000:]
                assert time.monotonic() < deadline, "localstripe did not answer within 20 s"
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def runner(csms_bin, e2e_tmp, stripe):
    env = {
        "CSMS_STRIPE_SECRET_KEY": SECRET_KEY,
        "CSMS_STRIPE_PUBLISHABLE_KEY": "pk_test_csms_e2e",
        "CSMS_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "CSMS_STRIPE_API_URL": stripe,
        # localstripe serves a mock of Stripe.js; the portal's card page loads it from there.
        "CSMS_STRIPE_JS_URL": f"{stripe}/js.stripe.com/v3/",
    }
    with started_runner(csms_bin, e2e_tmp, "test_card_payments", extra_env=env) as r:
        hook = f"{r.base_url}/api/v1/providers/stripe/webhook"
        answer = requests.post(f"{stripe}/_config/webhooks/csms", data={
            "url": hook, "secret": WEBHOOK_SECRET,
            "events[]": ["payment_intent.succeeded", "payment_intent.payment_failed"]}, timeout=5)
        assert answer.status_code == 200, answer.text
        yield r


def stripe_call(stripe: str, path: str, data: dict) -> requests.Response:
    return requests.post(f"{stripe}{path}", data=data, headers={"Authorization": f"Bearer {SECRET_KEY}"},
                         timeout=10)


def pay_with(stripe: str, intent: str, number: str) -> requests.Response:
    """What Stripe.js does on the payment page: the card becomes a PaymentMethod of the intent, then it is
    confirmed."""
    pm = stripe_call(stripe, "/v1/payment_methods", {
        "type": "card", "card[number]": number, "card[exp_month]": "12", "card[exp_year]": "2031",
        "card[cvc]": "123"})
    assert pm.status_code == 200, pm.text
    attached = stripe_call(stripe, f"/v1/payment_intents/{intent}", {"payment_method": pm.json()["id"]})
    assert attached.status_code == 200, attached.text
    return stripe_call(stripe, f"/v1/payment_intents/{intent}/confirm", {})


def signed(body: str, secret: str = WEBHOOK_SECRET) -> dict:
    t = int(time.time())
    mac = hmac.new(secret.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={t},v1={mac}", "Content-Type": "application/json"}


def test_an_invoice_is_paid_by_card_once(runner, stripe):
    world = invoiced_driver(runner, "cay", wh=9_000)
    key, invoice = world["key"], world["invoice"]
    # Another driver of the same organisation.
    dan_email = f"{unique('dan').lower()}@example.se"
    runner.api_ok("POST", "/users", {"email": dan_email, "name": "Dan", "password": PASSWORD, "role": "driver"},
                  status=201, key=key)
    path = f"/me/invoices/{quote(invoice['id'])}/card-payment"

    # Only the invoice's driver starts a payment: a key is not a person, another driver does not see it.
    assert_error(runner.api("POST", path, key=key), 403)
    dan = Driver(runner, dan_email, PASSWORD)
    r = dan.http.post(f"{dan.base}{path}", headers={"X-CSRF-Token": dan.csrf}, timeout=10)
    assert r.status_code == 404, r.text

    cay = Driver(runner, world["email"], PASSWORD)

    def start_payment() -> dict:
        r = cay.http.post(f"{cay.base}{path}", headers={"X-CSRF-Token": cay.csrf}, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()

    checkout = start_payment()
    assert checkout["amount"] == invoice["gross"] and checkout["currency"] == "SEK", checkout
    assert checkout["publishableKey"] == "pk_test_csms_e2e", checkout
    intent = checkout["paymentIntentId"]
    assert checkout["clientSecret"].startswith(f"{intent}_secret_"), checkout
    # localstripe holds the intent as asked: the amount in öre, the invoice in its metadata.
    held = requests.get(f"{stripe}/v1/payment_intents/{intent}",
                        headers={"Authorization": f"Bearer {SECRET_KEY}"}, timeout=10).json()
    assert held["amount"] == int(Decimal(invoice["gross"]) * 100) and held["currency"] == "sek", held
    assert held["metadata"]["invoice_id"] == invoice["id"], held

    # A declined card: Stripe reports the failure; the invoice stays unpaid.
    declined = pay_with(stripe, intent, "4000000000000341")
    assert declined.status_code == 402, declined.text
    time.sleep(2.5)  # localstripe delivers its webhooks a second after the event
    shown = runner.api_ok("GET", f"/invoices/{quote(invoice['id'])}", key=key)
    assert shown["status"] == "issued" and shown["payments"] == [], shown

    # A good card on a new intent: the signed webhook pays the invoice.
    again = start_payment()
    paid = pay_with(stripe, again["paymentIntentId"], "4242424242424242")
    assert paid.status_code == 200 and paid.json()["status"] == "succeeded", paid.text

    def settled():
        s = runner.api_ok("GET", f"/invoices/{quote(invoice['id'])}", key=key)
        return s if s["status"] == "paid" else None

    shown = poll(settled, timeout=15, what="the card payment to pay the invoice")
    [payment] = shown["payments"]
    assert payment["id"] == f"stripe:{again['paymentIntentId']}" and payment["provider"] == "stripe", payment
    assert payment["amount"] == invoice["gross"] and payment["invoiceId"] == invoice["id"], payment
    books = runner.api_ok("GET", "/ledger/reconciliation", key=key)
    # The invoice and its payment: two balanced transactions.
    assert books["balanced"] is True and books["transactions"] == 2, books
    clearing = next(a for a in books["accounts"] if a["account"] == "clearing:stripe")
    assert clearing["debits"] == invoice["gross"], clearing

    # Stripe delivers at least once: the same event again books nothing.
    events = requests.get(f"{stripe}/v1/events", headers={"Authorization": f"Bearer {SECRET_KEY}"},
                          timeout=10).json()["data"]
    event = next(e for e in events if e["type"] == "payment_intent.succeeded"
                 and e["data"]["object"]["id"] == again["paymentIntentId"])
    body = json.dumps(event)
    hook = f"{runner.base_url}/api/v1/providers/stripe/webhook"
    replay = requests.post(hook, data=body, headers=signed(body), timeout=10)
    assert replay.status_code == 200, replay.text
    assert replay.json()["outcome"] == "alreadyRecorded", replay.text
    assert runner.api_ok("GET", "/ledger/reconciliation", key=key)["transactions"] == 2

    # A forged event (another secret) and an unsigned one are refused and change nothing.
    forged = requests.post(hook, data=body, headers=signed(body, "whsec_forged"), timeout=10)
    assert forged.status_code == 400 and "Stripe-Signature" in forged.json()["error"]["message"], forged.text
    assert requests.post(hook, data=body, headers={"Content-Type": "application/json"},
                         timeout=10).status_code == 400

    # Nothing is due any more.
    r = cay.http.post(f"{cay.base}{path}", headers={"X-CSRF-Token": cay.csrf}, timeout=10)
    assert r.status_code == 409 and "paid" in r.json()["error"]["message"], r.text


def test_a_saved_card_is_charged_on_the_due_date_and_retried(runner, stripe):
    """The driver saves a card (a SetupIntent confirmed as Stripe.js would, kept with PUT /me/card after the CSMS read
    it back from Stripe); the day's collection charges it on the due date: declined, recorded on the invoice, not tried
    again the same day; a new card saved; the retry two days later pays the invoice, booked once although Stripe's
    webhook for the same intent follows; no reminder goes out."""
    world = invoiced_driver(runner, "eva", per_kwh="3.00", wh=11_000, minutes=40, org={"paymentTermsDays": 1})
    org, key, invoice, email = world["org"], world["key"], world["invoice"], world["email"]
    due = __import__("datetime").date.fromisoformat(invoice["dueDate"])
    eva = Driver(runner, email, PASSWORD)

    def me(method: str, path: str, body: dict | None = None) -> requests.Response:
        return eva.http.request(method, f"{eva.base}{path}", json=body, headers={"X-CSRF-Token": eva.csrf},
                                timeout=10)

    def collect(days_after_due: int) -> dict:
        day = (due + timedelta(days=days_after_due)).isoformat()
        return runner.api_ok("POST", "/dunning-runs", {"date": day}, headers={"X-Organisation": org})

    def save_card(number: str) -> requests.Response:
        setup = me("POST", "/me/card")
        assert setup.status_code == 200, setup.text
        setup = setup.json()
        assert setup["clientSecret"].startswith(setup["setupIntentId"]) and setup["publishableKey"], setup
        confirmed = requests.post(f"{stripe}/v1/setup_intents/{setup['setupIntentId']}/confirm", data={
            "client_secret": setup["clientSecret"], "payment_method_data[type]": "card",
            "payment_method_data[card][number]": number, "payment_method_data[card][exp_month]": "12",
            "payment_method_data[card][exp_year]": "2031", "payment_method_data[card][cvc]": "123",
            "key": setup["publishableKey"]}, timeout=10)  # the page has the publishable key only
        assert confirmed.status_code == 200 and confirmed.json()["status"] == "succeeded", confirmed.text
        return me("PUT", "/me/card", {"setupIntentId": setup["setupIntentId"]})

    # Nothing saved yet; a SetupIntent that is not confirmed, or not of this person, is not kept.
    assert_error(me("GET", "/me/card"), 404)
    unconfirmed = me("POST", "/me/card").json()
    assert_error(me("PUT", "/me/card", {"setupIntentId": unconfirmed["setupIntentId"]}), 409)
    assert_error(me("PUT", "/me/card", {"setupIntentId": "seti_doesnotexist"}), 404)
    err = assert_error(me("PUT", "/me/card", {"setupIntentId": "pm_123"}), 400)
    assert err["message"].startswith("setupIntentId:"), err
    assert_error(runner.api("GET", "/me/card", key=key), 403)

    # A card that will be declined when charged.
    saved = save_card("4000000000000341")
    assert saved.status_code == 200, saved.text
    assert saved.json()["last4"] == "0341" and saved.json()["expYear"] == 2031, saved.text

    assert collect(-1)["charged"] == []  # not due yet
    first = collect(0)
    assert first["charged"] == [] and [f["invoiceId"] for f in first["chargeFailed"]] == [invoice["id"]], first
    assert "card_declined" in first["chargeFailed"][0]["reason"], first
    again = collect(0)
    assert again["charged"] == [] and again["chargeFailed"] == [], again
    shown = runner.api_ok("GET", f"/invoices/{quote(invoice['id'])}", key=key)
    assert shown["status"] == "issued", shown
    [attempt] = shown["cardAttempts"]
    assert attempt["outcome"] == "failed" and attempt["number"] == 1 and attempt["amount"] == invoice["gross"], attempt

    # A good card replaces it; the retry is two days after the due date.
    saved = save_card("4242424242424242")
    assert saved.status_code == 200 and saved.json()["last4"] == "4242", saved.text
    assert me("GET", "/me/card").json()["last4"] == "4242"
    assert collect(1)["charged"] == []
    retry = collect(2)
    assert retry["charged"] == [invoice["id"]] and retry["chargeFailed"] == [], retry
    shown = runner.api_ok("GET", f"/invoices/{quote(invoice['id'])}", key=key)
    assert shown["status"] == "paid" and [a["outcome"] for a in shown["cardAttempts"]] == ["failed", "succeeded"], shown
    [payment] = shown["payments"]
    assert payment["id"] == f"stripe:{shown['cardAttempts'][1]['paymentIntentId']}", payment
    time.sleep(2.5)  # localstripe's webhook for the same intent: found recorded, booked nothing
    books = runner.api_ok("GET", "/ledger/reconciliation", key=key)
    assert books["balanced"] is True and books["transactions"] == 2, books

    # Paid: no charge, no reminder afterwards.
    later = collect(5)
    assert later["charged"] == [] and later["chargeFailed"] == [] and later["reminded"] == [], later

    # The card forgotten.
    assert me("DELETE", "/me/card").status_code == 204
    assert_error(me("GET", "/me/card"), 404)
    assert_error(me("DELETE", "/me/card"), 404)


def test_a_driver_saves_a_card_in_the_portal_with_stripe_js(runner, stripe):
    """In Chromium (Debian's, driven by Playwright), under the page's own content security policy: the driver's
    invoices page, then the card page, where Stripe.js (localstripe's mock, loaded from its origin) takes the card in
    its element; saving it reloads the page showing the card, which the API then has; removing it forgets it. Both
    pages in both languages pass axe-core (Stripe's element itself excluded: it is Stripe's, and here the mock's)."""
    from test_portal import AXE, CHROMIUM, CHROMIUM_ARGS, shots_dir
    pw = pytest.importorskip("playwright.sync_api")
    org = unique("brf-web").lower()
    runner.api_ok("POST", "/organisations", org_body(org), status=201)
    key = admin_key_of(runner, org)
    email = f"{unique('ida').lower()}@example.se"
    runner.api_ok("POST", "/users", {"email": email, "name": "Ida", "password": "driver-pass-123",
                                     "role": "driver", "language": "sv"}, status=201, key=key)
    shots = shots_dir(runner)
    with pw.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})  # the CSP applies
            page = context.new_page()
            blocked = []
            page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
            page.goto(f"{runner.base_url}/portal/me/invoices")
            page.fill("#email", email)
            page.fill("#password", "driver-pass-123")
            page.click("main button[type=submit]")
            page.wait_for_url("**/portal/me/invoices")
            assert page.inner_text("main h1") == "Mina fakturor"
            assert "Du har inga fakturor än." in page.inner_text("main")
            page.click("main a[href='/portal/me/card']")
            page.wait_for_url("**/portal/me/card")
            csp = page.evaluate("() => document.readyState") and context.request.get(
                f"{runner.base_url}/portal/me/card").headers["content-security-policy"]
            assert f"script-src 'self' {stripe}" in csp, csp
            # Stripe.js mounted its element and the button is enabled.
            page.wait_for_selector("#card-element input[placeholder=number]")
            page.wait_for_selector("#card-form button[type=submit]:not([disabled])")
            page.fill("#card-element input[placeholder=number]", "4242424242424242")
            page.fill("#card-element input[placeholder=exp_month]", "12")
            page.fill("#card-element input[placeholder=exp_year]", "31")
            page.fill("#card-element input[placeholder=cvc]", "123")
            page.fill("#card-element input[placeholder=postal_code]", "12345")
            page.click("#card-form button[type=submit]")
            page.wait_for_selector(".card-now", timeout=15000)
            assert page.inner_text(".card-now") == "Visa •••• 4242 (12/2031)", page.inner_text("main")
            assert not blocked, blocked
            cookies = {c["name"]: c["value"] for c in context.cookies()}
            saved = requests.get(f"{runner.base_url}/api/v1/me/card", cookies=cookies, timeout=10)
            assert saved.status_code == 200 and saved.json()["last4"] == "4242", saved.text
            page.goto(f"{runner.base_url}/portal/me/invoices")
            assert "Visa •••• 4242" in page.inner_text("main"), page.inner_text("main")

            # axe-core on both pages in both languages (a second context: injecting axe needs the CSP bypassed).
            checker = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True,
                                          storage_state=context.storage_state())
            look = checker.new_page()
            axe = AXE.read_text()
            for lang in ("sv", "en"):
                for path in ("/portal/me/invoices", "/portal/me/card"):
                    look.goto(f"{runner.base_url}{path}")
                    if look.get_attribute("html", "lang") != lang:
                        look.click("header form[action='/portal/language'] button")
                        look.wait_for_load_state()
                    look.add_script_tag(content=axe)
                    result = look.evaluate("""async () => await axe.run({exclude: [['#card-element']]}, {
                        runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})""")
                    bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
                           for v in result["violations"] if v["impact"] in ("serious", "critical")]
                    assert not bad, f"axe on {path} ({lang}): {bad}"
                    name = path.rsplit("/", 1)[-1]
                    look.screenshot(path=str(shots / f"driver-{name}-{lang}-desktop.png"), full_page=True)
            checker.close()

            # Removing the card: a form post with the session's CSRF token.
            page.goto(f"{runner.base_url}/portal/me/card")
            page.click("form[action='/portal/me/card/remove'] button")
            page.wait_for_load_state()
            assert page.locator(".card-now").count() == 0
            assert requests.get(f"{runner.base_url}/api/v1/me/card", cookies=cookies, timeout=10).status_code == 404
            context.close()
        finally:
            browser.close()
