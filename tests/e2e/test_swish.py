"""Issue 18, Swish from the outside, against a fake of the Swish Commerce API written from its documented shapes
(tests/e2e/swish_fake.py: mutual TLS with a merchant certificate of its own CA, the v2 payment requests, the 422
error list, the callback): a driver pays an invoice by Swish with their number (e-commerce) and without
(m-commerce, a token and the swish:// link); a declined request leaves the invoice unpaid; a forged callback that
claims a payment Swish does not report books nothing; the paid request's callback pays the invoice once however often
it comes; the books balance."""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests

from billing_e2e import PASSWORD, invoiced_driver
from csms_e2e import assert_error, quote, started_runner
from swish_fake import MERCHANT, SwishFake
from test_invoices import Driver


@pytest.fixture(scope="module")
def swish(e2e_tmp):
    d = e2e_tmp / "swish"
    d.mkdir(exist_ok=True)
    fake = SwishFake().start(d)
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def runner(csms_bin, e2e_tmp, swish):
    env = {
        "CSMS_SWISH_PAYEE_ALIAS": MERCHANT,
        "CSMS_SWISH_CERT": str(swish.client_cert),
        "CSMS_SWISH_KEY": str(swish.client_key),
        "CSMS_SWISH_CA": str(swish.ca),
        "CSMS_SWISH_API_URL": swish.url,
    }
    with started_runner(csms_bin, e2e_tmp, "test_swish", extra_env=env) as r:
        yield r


def test_the_fake_wants_the_merchant_certificate(swish):
    with pytest.raises((requests.exceptions.SSLError, requests.exceptions.ConnectionError)):
        requests.get(f"{swish.url}/swish-cpcapi/api/v1/paymentrequests/{'0' * 32}", verify=str(swish.ca), timeout=5)
    ok = requests.get(f"{swish.url}/swish-cpcapi/api/v1/paymentrequests/{'0' * 32}", verify=str(swish.ca),
                      cert=(str(swish.client_cert), str(swish.client_key)), timeout=5)
    assert ok.status_code == 404


def test_an_invoice_is_paid_by_swish_once(runner, swish):
    world = invoiced_driver(runner, "sam", per_kwh="2.75", wh=6_400, minutes=25)
    key, invoice, email = world["key"], world["invoice"], world["email"]
    path = f"/me/invoices/{quote(invoice['id'])}/swish"
    sam = Driver(runner, email, PASSWORD)

    def pay(body=None) -> requests.Response:
        return sam.http.post(f"{sam.base}{path}", json=body, headers={"X-CSRF-Token": sam.csrf}, timeout=10)

    err = assert_error(pay({"payerAlias": "12"}), 400)
    assert err["message"].startswith("payerAlias:"), err
    assert_error(runner.api("POST", path, {}, key=key), 403)

    # E-commerce: the payer's number, normalised; the request as the API documents it.
    r = pay({"payerAlias": "+46 70-123 45 67"})
    assert r.status_code == 200, r.text
    ecom = r.json()
    assert ecom["token"] is None and ecom["appUrl"] is None and ecom["amount"] == invoice["gross"], ecom
    asked = swish.requests[ecom["paymentRequestId"]]
    assert asked["payerAlias"] == "46701234567" and asked["payeeAlias"] == MERCHANT, asked
    assert asked["payeePaymentReference"] == invoice["ocr"] and asked["message"] == f"Faktura {invoice['number']}"
    assert Decimal(str(asked["amount"])) == Decimal(invoice["gross"]), asked
    assert asked["callbackUrl"] == f"{runner.base_url}/api/v1/providers/swish/callback", asked

    # The payer declines in the app: Swish calls back, nothing is paid.
    declined = swish.settle(ecom["paymentRequestId"], "DECLINED")
    assert declined.status_code == 200 and declined.json()["outcome"] == "notPaid", declined.text
    shown = runner.api_ok("GET", f"/invoices/{quote(invoice['id'])}", key=key)
    assert shown["status"] == "issued" and shown["payments"] == [], shown

    # M-commerce: a token and the link that opens the Swish app.
    r = pay()
    assert r.status_code == 200, r.text
    mcom = r.json()
    assert mcom["token"] and mcom["appUrl"].startswith(f"swish://paymentrequest?token={mcom['token']}&callbackurl="), mcom
    hook = f"{runner.base_url}/api/v1/providers/swish/callback"

    # A forged callback claiming the request is paid: Swish says it is not, so nothing is booked.
    forged = dict(swish.requests[mcom["paymentRequestId"]], status="PAID", amount=999999.0)
    forged.pop("token", None)
    r = requests.post(hook, json=forged, timeout=10)
    assert r.status_code == 200 and r.json()["outcome"] == "notPaid", r.text
    assert_error(requests.post(hook, json={"id": "F" * 32}, timeout=10), 404)
    assert_error(requests.post(hook, data=b"not json", timeout=10), 400)

    # Paid in the app: the callback books it.
    paid = swish.settle(mcom["paymentRequestId"], "PAID")
    assert paid.status_code == 200 and paid.json()["outcome"] == "paid", paid.text
    assert paid.json()["paymentId"] == f"swish:{mcom['paymentRequestId']}", paid.text
    shown = runner.api_ok("GET", f"/invoices/{quote(invoice['id'])}", key=key)
    assert shown["status"] == "paid", shown
    [payment] = shown["payments"]
    assert payment["provider"] == "swish" and payment["amount"] == invoice["gross"], payment
    assert payment["reference"] == invoice["ocr"], payment

    # Swish calls again (it retries until answered): booked once.
    again = requests.post(hook, json={"id": mcom["paymentRequestId"]}, timeout=10)
    assert again.status_code == 200 and again.json()["outcome"] == "alreadyRecorded", again.text
    books = runner.api_ok("GET", "/ledger/reconciliation", key=key)
    assert books["balanced"] is True and books["transactions"] == 2, books
    clearing = next(a for a in books["accounts"] if a["account"] == "clearing:swish")
    assert clearing["debits"] == invoice["gross"], clearing

    # Nothing is due any more.
    r = pay()
    assert r.status_code == 409 and "paid" in r.json()["error"]["message"], r.text


def test_a_driver_pays_by_swish_in_the_portal(runner, swish):
    """In Chromium: the driver's invoices page offers Swish for the unpaid invoice; a number that is not one is
    refused on the page (400, said in words); with their number the request is made and the page waits; when the
    payer approves in the app (the fake's callback), the page shows the invoice paid without a reload. axe-core on
    the pay page in both languages."""
    from test_portal import AXE, CHROMIUM, CHROMIUM_ARGS, shots_dir
    pw = pytest.importorskip("playwright.sync_api")
    world = invoiced_driver(runner, "liv", per_kwh="3.10", wh=5_000, minutes=20)
    invoice = world["invoice"]
    shots = shots_dir(runner)
    with pw.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.goto(f"{runner.base_url}/portal/me/invoices")
            page.fill("#email", world["email"])
            page.fill("#password", PASSWORD)
            page.click("main button[type=submit]")
            page.wait_for_url("**/portal/me/invoices")
            pay = page.locator("main a[href$='/pay']")
            assert pay.count() == 1, page.inner_text("main")
            pay.click()
            page.wait_for_url("**/pay")
            # axe-core on the form (a second context: injecting axe needs the CSP bypassed).
            checker = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True,
                                          storage_state=context.storage_state())
            look = checker.new_page()
            for lang in ("sv", "en"):
                look.goto(page.url)
                if look.get_attribute("html", "lang") != lang:
                    look.click("header form[action='/portal/language'] button")
                    look.wait_for_load_state()
                look.add_script_tag(content=AXE.read_text())
                result = look.evaluate("""async () => await axe.run(document, {
                    runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})""")
                bad = [(v["id"], v["impact"]) for v in result["violations"] if v["impact"] in ("serious", "critical")]
                assert not bad, f"axe on the pay page ({lang}): {bad}"
                look.screenshot(path=str(shots / f"driver-swish-{lang}-desktop.png"), full_page=True)
            checker.close()

            page.reload()
            page.fill("#payer", "12")
            with page.expect_response(lambda r: r.url.endswith("/pay") and r.request.method == "POST") as resp:
                page.click("main form button[type=submit]")
            assert resp.value.status == 400
            assert page.inner_text("[role=alert]").startswith(("Det är inget mobilnummer", "That is not a mobile")), \
                page.inner_text("main")
            page.fill("#payer", "070-765 43 21")
            page.click("main form button[type=submit]")
            page.wait_for_selector("#pay-status[data-status=waiting]")
            [rid] = [k for k, v in swish.requests.items() if v["payeePaymentReference"] == invoice["ocr"]]
            assert swish.requests[rid]["payerAlias"] == "46707654321"
            assert swish.settle(rid, "PAID").json()["outcome"] == "paid"
            # The page polls the invoice: paid, without a reload.
            page.wait_for_selector("#pay-status[data-status=paid]", timeout=10_000)
            page.screenshot(path=str(shots / "driver-swish-paid-desktop.png"), full_page=True)
            shown = runner.api_ok("GET", f"/invoices/{quote(invoice['id'])}", key=world["key"])
            assert shown["status"] == "paid", shown
            context.close()
        finally:
            browser.close()
