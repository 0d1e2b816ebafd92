"""Monthly fees and one-off charges on the monthly invoice, end to end: a month with a session, a fee that starts on
the 16th (charged pro rata) and a one-off charge gives one invoice with exactly those lines and totals; its PDF shows
the fee; its Peppol file still validates against EN 16931; a re-run of the month changes nothing; an invoiced charge
cannot be deleted."""

from __future__ import annotations

import calendar
from decimal import Decimal

import pytest

from billing_e2e import PASSWORD, invoiced_driver
from csms_e2e import assert_error, quote, started_runner
from test_invoice_pdf import pdf_text, swedish_amount
from test_peppol import COMPANY, Person, assert_valid, validate  # noqa: F401 (validate is a fixture)

BANKGIRO = "5050-1055"


@pytest.fixture(scope="module")
def runner(csms_bin, e2e_tmp):
    with started_runner(csms_bin, e2e_tmp, "test_fees", extra_env={"CSMS_BANKGIRO": BANKGIRO}) as r:
        yield r


def test_a_month_with_a_session_a_pro_rata_fee_and_a_charge_is_one_invoice_made_once(runner, validate):  # noqa: F811
    made = {}

    def setup(ctx):
        year, month = map(int, ctx["period"].split("-"))
        made["days_in_month"] = calendar.monthrange(year, month)[1]
        # 310 SEK a month including 25 % VAT, from the 16th: the days 16 to the month's end.
        made["fee"] = runner.api_ok("POST", "/fees", {
            "name": "Parkeringsplats 12", "userId": ctx["person"]["id"], "amount": "310", "amountIncludesVat": True,
            "vatRate": "0.25", "start": f"{ctx['period']}-16"}, status=201, key=ctx["key"])
        # 100 SEK including VAT, once: 80.00 + 20.00.
        made["charge"] = runner.api_ok("POST", "/one-off-charges", {
            "userId": ctx["person"]["id"], "description": "Ny nyckelbricka", "amount": "100",
            "amountIncludesVat": True, "vatRate": "0.25", "date": f"{ctx['period']}-05"}, status=201, key=ctx["key"])

    def company_driver(email):
        # A company driver before the run: the invoice keeps the buyer it was issued to.
        assert Person(runner, email, PASSWORD).send("PUT", "/me/company", COMPANY).status_code == 200

    d = invoiced_driver(runner, "fees", before_run=company_driver, setup=setup)
    key, summary = d["key"], d["invoice"]
    inv = runner.api_ok("GET", f"/invoices/{quote(summary['id'])}", key=key)
    assert len(inv["lines"]) == 1, inv
    session = inv["lines"][0]

    days = made["days_in_month"] - 15
    # By hand for the month's length: 310 × days / days in the month, to öre (e.g. December: 16/31 → 160.00 gross,
    # 128.00 net, 32.00 VAT; November: 15/30 → 155.00, 124.00, 31.00).
    by_hand = {31: ("160.00", "128.00", "32.00"), 30: ("155.00", "124.00", "31.00"),
               29: ("149.66", "119.73", "29.93"), 28: ("143.93", "115.14", "28.79")}
    fee_gross, fee_net, fee_vat = by_hand[made["days_in_month"]]
    assert inv["charges"] == [
        {"kind": "fee", "sourceId": made["fee"]["id"], "description": "Parkeringsplats 12",
         "from": f"{d['period']}-16", "to": f"{d['period']}-{made['days_in_month']}", "days": days,
         "daysInMonth": made["days_in_month"], "vatRate": "0.25", "net": fee_net, "vat": fee_vat, "gross": fee_gross},
        {"kind": "charge", "sourceId": made["charge"]["id"], "description": "Ny nyckelbricka",
         "date": f"{d['period']}-05", "vatRate": "0.25", "net": "80.00", "vat": "20.00", "gross": "100.00"},
    ], inv["charges"]
    net = Decimal(session["net"]) + Decimal(fee_net) + Decimal("80.00")
    vat = Decimal(session["vat"]) + Decimal(fee_vat) + Decimal("20.00")
    assert (Decimal(inv["net"]), Decimal(inv["vat"]), Decimal(inv["gross"])) == (net, vat, net + vat), inv
    assert inv["vatRates"] == [{"rate": "0.25", "net": f"{net:.2f}", "vat": f"{vat:.2f}", "gross": f"{net + vat:.2f}"}]

    # The PDF has the fee's line: its name, its days and its amount.
    r = runner.api("GET", f"/invoices/{quote(inv['id'])}/pdf", key=key)
    assert r.status_code == 200, r.text
    _, text = pdf_text(r.content)
    for wanted in ["Parkeringsplats 12", f"{days}/{made['days_in_month']} dagar", swedish_amount(Decimal(fee_gross)),
                   "Ny nyckelbricka", swedish_amount(net + vat)]:
        assert wanted in text, f"{wanted!r} not in:\n{text}"

    # The Peppol file of a company driver has the two lines too, and is valid EN 16931.
    peppol = runner.api("GET", f"/invoices/{quote(inv['id'])}/peppol", key=key)
    assert peppol.status_code == 200, peppol.text
    assert b"Parkeringsplats 12" in peppol.content and made["charge"]["id"].encode() in peppol.content
    assert_valid(validate(peppol.content))

    # Again: nothing new, nothing twice.
    again = runner.api_ok("POST", "/invoice-runs", {"period": d["period"]}, key=key)
    assert again["created"] == [] and again["existing"] == [inv["id"]], again
    assert again["chargesInvoiced"] == 0 and again["skippedCharges"] == [], again
    assert runner.api_ok("GET", f"/invoices/{quote(inv['id'])}", key=key)["charges"] == inv["charges"]
    listed = runner.api_ok("GET", "/invoices", key=key)["items"]
    assert [i["id"] for i in listed] == [inv["id"]], listed

    # The charge is on it: it stays, and the month takes no more charges.
    charge = runner.api_ok("GET", f"/one-off-charges/{made['charge']['id']}", key=key)
    assert charge["invoiceId"] == inv["id"], charge
    err = assert_error(runner.api("DELETE", f"/one-off-charges/{made['charge']['id']}", key=key), 409, "conflict")
    assert "is on invoice" in err["message"], err
