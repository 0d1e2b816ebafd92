"""Credit notes end to end: an invoice with a session and a one-off charge is credited a line at a time and then by an
amount; the notes are numbered K1, K2 in the organisation's own series (the invoice numbers go on apart), their totals
are the credited lines' by hand with negative amounts, more than is left is a 409 saying what is left, a line the
invoice does not have a 400 naming the field; the PDF and the driver's mail carry the note; the invoice is settled
(paid) when credited in full; the ledger books each note once and balances; another organisation sees none of it.
Then, in Chromium with axe-core, the portal's invoice pages (the organisation's and the driver's own) show the
invoice's session, its one-off charge line and its credit notes."""

from __future__ import annotations

import email
import email.policy
from decimal import Decimal

import pytest

from billing_e2e import PASSWORD, invoiced_driver
from csms_e2e import assert_error, quote, started_runner
from test_invoice_pdf import pdf_text, swedish_amount
from test_invoices import admin_key_of, org_body
from test_portal import Visit, browser  # noqa: F401  (browser is a fixture)

BANKGIRO = "5050-1055"
# What the API test made, for the portal's test after it (browser tests run after the asyncio charger code).
MADE: dict = {}


@pytest.fixture(scope="module")
def runner(csms_bin, e2e_tmp):
    with started_runner(csms_bin, e2e_tmp, "test_credit_notes", extra_env={"CSMS_BANKGIRO": BANKGIRO}) as r:
        yield r


def mails_of_kind(runner, kind: str) -> list[email.message.EmailMessage]:
    out = []
    for entry in runner.api_ok("GET", "/outbox", params={"limit": 100})["items"]:
        if entry["kind"] != kind:
            continue
        raw = runner.api("GET", f"/outbox/{entry['id']}")
        assert raw.status_code == 200, raw.text
        out.append(email.message_from_bytes(raw.content, policy=email.policy.default))
    return out


def test_an_invoice_is_credited_line_by_line_then_settled_in_its_own_number_series(runner):
    made = {}

    def setup(ctx):
        # 100 SEK including 25 % VAT, once: 80.00 + 20.00.
        made["charge"] = runner.api_ok("POST", "/one-off-charges", {
            "userId": ctx["person"]["id"], "description": "Ny nyckelbricka", "amount": "100",
            "amountIncludesVat": True, "vatRate": "0.25", "date": f"{ctx['period']}-05"}, status=201, key=ctx["key"])

    d = invoiced_driver(runner, "credit", setup=setup)
    MADE.update(d)
    key, iid = d["key"], quote(d["invoice"]["id"])
    inv = runner.api_ok("GET", f"/invoices/{iid}", key=key)
    [session] = inv["lines"]
    assert inv["creditNotes"] == [] and inv["credited"] == "0", inv
    gross = Decimal(inv["gross"])

    # Credit the session line: K1, its amounts negated.
    k1 = runner.api_ok("POST", f"/invoices/{iid}/credit-notes",
                       {"sessions": [session["sessionId"]], "reason": "Fel pris på laddningen"}, status=201, key=key)
    assert k1["number"] == "K1" and k1["invoiceNumber"] == inv["number"], k1
    assert k1["lines"] == [{"kind": "session", "sourceId": session["sessionId"],
                            "description": f"{session['stationId']} {session['sessionId']}",
                            "vatRate": session["vatRate"], "net": f"-{session['net']}", "vat": f"-{session['vat']}",
                            "gross": f"-{session['gross']}"}], k1
    assert (k1["net"], k1["vat"], k1["gross"]) == (f"-{session['net']}", f"-{session['vat']}",
                                                   f"-{session['gross']}"), k1
    assert "notMailed" not in k1, k1
    # The same line again is credited already (409); a session the invoice does not have is a 400 naming it.
    err = assert_error(runner.api("POST", f"/invoices/{iid}/credit-notes",
                                  {"sessions": [session["sessionId"]], "reason": "Igen"}, key=key), 409, "conflict")
    assert "credited already" in err["message"], err
    err = assert_error(runner.api("POST", f"/invoices/{iid}/credit-notes",
                                  {"sessions": ["CP-NONE~1"], "reason": "Fel"}, key=key), 400)
    assert err["message"].startswith("sessions:"), err
    err = assert_error(runner.api("POST", f"/invoices/{iid}/credit-notes", {"charges": [made["charge"]["id"]],
                                  "reason": ""}, key=key), 400)
    assert err["message"].startswith("reason:"), err

    # 100.00 is left at 25 %: 150 is too much (409 says what is left); 30 including VAT is 24.00 + 6.00 → K2.
    err = assert_error(runner.api("POST", f"/invoices/{iid}/credit-notes", {
        "amount": {"amount": "150", "amountIncludesVat": True, "vatRate": "0.25"}, "reason": "Rabatt"}, key=key),
        409, "conflict")
    assert "100.00" in err["message"], err
    k2 = runner.api_ok("POST", f"/invoices/{iid}/credit-notes", {
        "amount": {"amount": "30", "amountIncludesVat": True, "vatRate": "0.25"}, "reason": "Rabatt"},
        status=201, key=key)
    assert k2["number"] == "K2", k2
    assert (k2["net"], k2["vat"], k2["gross"]) == ("-24.00", "-6.00", "-30.00"), k2
    assert k2["vatRates"] == [{"rate": "0.25", "net": "-24.00", "vat": "-6.00", "gross": "-30.00"}], k2
    # The charge line (100.00) is more than the 70.00 left.
    assert_error(runner.api("POST", f"/invoices/{iid}/credit-notes",
                            {"charges": [made["charge"]["id"]], "reason": "Tagg"}, key=key), 409, "conflict")

    half = runner.api_ok("GET", f"/invoices/{iid}", key=key)
    credited = Decimal(session["gross"]) + Decimal("30.00")
    assert Decimal(half["credited"]) == credited and half["status"] == "issued", half
    assert Decimal(half["amountDue"]) == gross - credited, half
    assert [n["number"] for n in half["creditNotes"]] == ["K1", "K2"], half

    # The rest by an amount: K3 settles the invoice (paid, nothing due).
    rest = gross - credited
    k3 = runner.api_ok("POST", f"/invoices/{iid}/credit-notes", {
        "amount": {"amount": f"{rest:.2f}", "amountIncludesVat": True, "vatRate": "0.25"}, "reason": "Slutkredit"},
        status=201, key=key)
    assert k3["number"] == "K3" and Decimal(k3["gross"]) == -rest, k3
    settled = runner.api_ok("GET", f"/invoices/{iid}", key=key)
    assert settled["status"] == "paid" and Decimal(settled["amountDue"]) == 0 and Decimal(settled["credited"]) == gross, \
        settled
    err = assert_error(runner.api("POST", f"/invoices/{iid}/credit-notes", {
        "amount": {"amount": "0.01", "amountIncludesVat": True, "vatRate": "0.25"}, "reason": "Mer"}, key=key),
        409, "conflict")
    assert "0.00" in err["message"], err
    listed = runner.api_ok("GET", f"/invoices/{iid}/credit-notes", key=key)["items"]
    assert [n["number"] for n in listed] == ["K1", "K2", "K3"], listed
    assert runner.api_ok("GET", f"/invoices/{iid}/credit-notes/K2", key=key) == {
        k: v for k, v in k2.items() if k != "notMailed"}

    # The ledger: the invoice and three credit notes, each booked once; the receivable is back at zero.
    books = runner.api_ok("GET", "/ledger/reconciliation", key=key)
    assert books["balanced"] is True and books["transactions"] == 4, books
    receivable = next(a for a in books["accounts"] if a["account"].startswith("receivable:"))
    assert Decimal(receivable["debits"]) == gross and Decimal(receivable["credits"]) == gross, receivable

    # The PDF: a credit note of its own kind naming the invoice it credits, with the negative total.
    pdf = runner.api("GET", f"/invoices/{iid}/credit-notes/K2/pdf", key=key)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf", pdf.text
    assert 'filename="kreditfaktura-K2.pdf"' in pdf.headers["content-disposition"]
    _, text = pdf_text(pdf.content)
    for wanted in ["KREDITFAKTURA", "K2", "Krediterar faktura", inv["number"], "Orsak: Rabatt",
                   swedish_amount(Decimal("-30.00"))]:
        assert wanted in text, f"{wanted!r} not in:\n{text}"

    # Each note mailed once to the driver, with its PDF.
    mails = [m for m in mails_of_kind(runner, "creditNote") if m["To"].addresses[0].addr_spec == d["email"]]
    assert sorted(m["Subject"].split()[1] for m in mails) == ["K1", "K2", "K3"], [m["Subject"] for m in mails]
    k2_mail = next(m for m in mails if m["Subject"].split()[1] == "K2")
    assert "30,00 kr" in k2_mail.get_body(("plain",)).get_content()
    [attached] = [p for p in k2_mail.iter_attachments()]
    assert attached.get_filename() == "kreditfaktura-K2.pdf" and attached.get_content() == pdf.content

    # Another organisation sees none of it.
    other = "brf-other-cn"
    runner.api_ok("POST", "/organisations", org_body(other), status=201)
    other_key = admin_key_of(runner, other)
    for path in [f"/invoices/{iid}/credit-notes", f"/invoices/{iid}/credit-notes/K1",
                 f"/invoices/{iid}/credit-notes/K1/pdf"]:
        assert_error(runner.api("GET", path, key=other_key), 404)
    assert_error(runner.api("POST", f"/invoices/{iid}/credit-notes", {
        "amount": {"amount": "1", "amountIncludesVat": True, "vatRate": "0.25"}, "reason": "Nej"}, key=other_key), 404)


def test_the_portal_shows_an_invoice_s_charge_lines_and_credit_notes(runner, browser):  # noqa: F811
    d = MADE
    assert d, "the API test made the invoice"
    iid = quote(d["invoice"]["id"])
    admin = runner.api_ok("POST", "/users", {"email": f"admin-{d['email']}", "name": "Admin", "password": PASSWORD,
                                             "role": "orgAdmin"}, status=201, key=d["key"])
    for who, person, path in (("orgadmin", admin | {"password": PASSWORD}, f"/portal/invoices/{iid}"),
                              ("driver", {"email": d["email"], "password": PASSWORD}, f"/portal/me/invoices/{iid}")):
        v = Visit(browser, runner, who, person)
        try:
            v.goto(path)
            v.switch_to("sv")
            v.check("invoice")
            main = v.page.inner_text("main")
            for wanted in ["Ny nyckelbricka", "Engångspost", "Kreditfakturor", "K1", "K2", "K3", "Rabatt",
                           "Kvar att betala", "Betald"]:
                assert wanted in main, f"{who}: {wanted!r} not in:\n{main}"
            # Each page links each credit note's PDF (the driver's through /me); the list links the invoice's page.
            if who == "orgadmin":
                link = v.page.locator(f"main a[href='/api/v1/invoices/{iid}/credit-notes/K2/pdf']")
                assert link.count() == 1
                v.goto("/portal/invoices")
                assert v.page.locator(f"main a[href='/portal/invoices/{iid}']").count() == 1
            else:
                link = v.page.locator(f"main a[href='/api/v1/me/invoices/{iid}/credit-notes/K2/pdf']")
                assert link.count() == 1
                pdf = v.page.request.get(f"{v.base}/api/v1/me/invoices/{iid}/credit-notes/K2/pdf")
                assert pdf.status == 200 and pdf.body().startswith(b"%PDF"), pdf.status
                v.goto("/portal/me/invoices")
                assert v.page.locator(f"main a[href='/portal/me/invoices/{iid}']").count() == 1
                # Someone else's invoice is the 404 page.
                v.goto(f"/portal/me/invoices/{quote('brf-other-cn~2026-01~usr_01ARZ3NDEKTSV4RRFFQ69G5FAV')}", 404)
        finally:
            v.close()
