"""Issue 18, the monthly self-invoice and payout, from the outside: an organisation whose driver charged and paid by
Bankgiro is settled for the month by the platform admin: the platform fee (2.5 % of what was paid in plus a fixed
amount per station, with 25 % VAT) and the payout of the rest are booked once, the self-invoice PDF is mailed to the
organisation, and the payout's bank file is a Bankgirot supplier-payment (LB) file to the organisation's Bankgiro
(read back by position) or, to an IBAN, validates against the ISO 20022 schema (pain.001.001.09, as shipped with
sepaxml). A payment made after its invoice's due date is itemised as paid late, in the API and on the PDF. A re-run books, stores and mails nothing; the figures reconcile to the
öre with the ledger; an organisation without a payout account has its payout withheld with the reason; another
organisation sees none of it; only the platform admin settles and reads bank files."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo
from decimal import ROUND_HALF_UP, Decimal
from importlib import resources

import pypdf
import pytest
import xmlschema

from billing_e2e import PASSWORD, invoiced_driver
from csms_e2e import assert_error, now_utc, started_runner, unique
from test_invoices import admin_key_of, bgmax_file, org_body
from test_portal import Visit, browser  # noqa: F401  (the Chromium fixture)

IBAN, BIC = "SE4550000000058398257466", "ESSESESS"
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"}
TERMS = {"day": 25, "feePercent": "2.5", "feePerStation": "10.00"}
# What the first test settled, for the portal's test (last: Chromium's event loop would stop the chargers' asyncio).
SETTLED: dict = {}


@pytest.fixture(scope="module")
def runner(csms_bin, e2e_tmp):
    env = {"CSMS_BANKGIRO": "5050-1055", "CSMS_CLIENT_FUNDS_IBAN": IBAN, "CSMS_CLIENT_FUNDS_BIC": BIC,
           "CSMS_CLIENT_FUNDS_NAME": "Laddplattformen AB klientmedel"}
    with started_runner(csms_bin, e2e_tmp, "test_settlement", extra_env=env) as r:
        yield r


def ore(d: Decimal) -> Decimal:
    return d.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def next_month_25th(period: str) -> str:
    y, m = map(int, period.split("-"))
    return date(y + m // 12, m % 12 + 1, 25).isoformat()


def pay(runner, invoice: dict, paid_on: date | None = None) -> None:
    """Pays `invoice` in full by a BgMax file; `paid_on`: the day the bank reports it paid (the file's payment date)."""
    text = bgmax_file(now_utc().microsecond % 100_000, [(invoice["ocr"], int(Decimal(invoice["gross"]) * 100))])
    if paid_on is not None:  # the deposit record's payment date (positions 38-45), same width
        assert text.count("20261204") == 1, text
        text = text.replace("20261204", paid_on.strftime("%Y%m%d"))
    r = runner.api("POST", "/payments/bankgiro", data=text.encode(),
                   headers={"Content-Type": "text/plain; charset=utf-8"})
    assert r.status_code == 200 and len(r.json()["matched"]) == 1, r.text


def lb_records(r) -> list[str]:
    """A Bankgirot supplier-payment file served by the payout-file route: ISO 8859-1, 80-character records ended by
    CR LF, an opening record (TK11), payment records (TK14) and the total (TK29)."""
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].lower().replace(" ", "") == "text/plain;charset=iso-8859-1", r.headers
    assert re.search(r'filename="payout-.*\.txt"', r.headers["content-disposition"]), r.headers
    text = r.content.decode("iso-8859-1")
    assert text.endswith("\r\n"), text
    records = text[:-2].split("\r\n")
    assert all(len(rec) == 80 for rec in records), records
    assert [rec[:2] for rec in records] == ["11"] + ["14"] * (len(records) - 2) + ["29"], records
    return records


def assert_lb_pays(r, payer: str, to: str, settlement: dict) -> None:
    """The LB file pays the settlement's payout from the `payer` Bankgiro to the `to` one on the day it was booked,
    the self-invoice's number as reference; read by position (1-based in the manual, 0-based here) and summed."""
    records = lb_records(r)
    opening, payments, total = records[0], records[1:-1], records[-1]
    booked = datetime.fromisoformat(settlement["payoutBookedAt"]).astimezone(ZoneInfo("Europe/Stockholm")).date()
    assert opening[2:12] == payer.replace("-", "").zfill(10), opening
    assert opening[12:18] == booked.strftime("%y%m%d"), opening
    assert opening[18:40] == "LEVERANTÖRSBETALNINGAR" and opening[59:62] == "SEK", opening
    assert opening[40:59].strip() == "" and opening[62:].strip() == "", opening
    amounts = []
    for p in payments:
        assert p[2:12] == to.replace("-", "").zfill(10), p
        assert p[12:37].rstrip() == settlement["number"], p
        assert p[49:55] == booked.strftime("%y%m%d") and p[55:].strip() == "", p
        amounts.append(int(p[37:49]))
    assert all(a > 0 for a in amounts), amounts
    assert Decimal(sum(amounts)) / 100 == Decimal(settlement["payout"]), (amounts, settlement)
    assert total[2:12] == opening[2:12], total
    assert int(total[12:20]) == len(payments) and int(total[20:32]) == sum(amounts), total
    assert total[32:].strip() == "", total


def test_a_month_is_settled_once_mailed_and_paid_out_by_a_valid_bank_file(runner):
    # Only the platform admin sets the payout contract; bad terms name their field.
    payout = {"payoutAccount": {"bankgiro": "5050-1055"}, "payoutTerms": TERMS}
    err = assert_error(runner.api("POST", "/organisations", org_body(unique("brf-x").lower()) | {
        "payoutTerms": {"feePercent": "101"}}), 400, "invalid_request")
    assert "payoutTerms.feePercent" in err["message"], err
    d = invoiced_driver(runner, "settle", org=payout)
    org, key, invoice, period = d["org"], d["key"], d["invoice"], d["invoice"]["period"]
    err = assert_error(runner.api("PATCH", f"/organisations/{org}", {"payoutTerms": None}, key=key), 403, "forbidden")
    assert "payoutTerms" in err["message"], err
    assert runner.api_ok("GET", f"/organisations/{org}", key=key)["payoutTerms"] == {
        "day": 25, "feePercent": "2.5", "feePerStation": "10"}
    pay(runner, invoice)
    gross = Decimal(invoice["gross"])

    # Before the run: what the month would be, nothing booked.
    before = runner.api_ok("GET", f"/settlements/{period}", key=key)
    assert Decimal(before["paidIn"]) == gross and before["payments"] == 1, before
    assert before["fee"]["booked"] is False and before["payoutBookedAt"] is None, before
    assert_error(runner.api("GET", f"/settlements/{period}/pdf", key=key), 404, "not_found")
    assert_error(runner.api("GET", f"/settlements/{period}/payout-file", headers={"X-Organisation": org}), 404,
                 "not_found")

    # Only the platform admin settles; the month must have ended; bad input names its field.
    day = next_month_25th(period)
    assert_error(runner.api("POST", "/settlement-runs", {"period": period, "date": day}, key=key), 403, "forbidden")
    as_admin = {"X-Organisation": org}
    assert "period" in assert_error(runner.api("POST", "/settlement-runs", {"period": "2026-13"}, headers=as_admin),
                                    400, "invalid_request")["message"]
    assert_error(runner.api("POST", "/settlement-runs", {"period": period, "date": f"{period}-28"},
                            headers=as_admin), 409, "conflict")

    done = runner.api_ok("POST", "/settlement-runs", {"period": period, "date": day}, headers=as_admin)
    s = done["settlement"]
    assert done["feeBookedNow"] and done["payoutBookedNow"] and done["mailed"] and done["documentsStored"], done
    fee_net = ore(gross * Decimal("0.025")) + Decimal("10.00")
    fee_gross = fee_net + ore(fee_net * Decimal("0.25"))
    assert Decimal(s["fee"]["net"]) == fee_net and Decimal(s["fee"]["gross"]) == fee_gross, s
    assert Decimal(s["payout"]) == gross - fee_gross and Decimal(s["held"]) == 0, s
    assert s["reconciles"] is True and s["number"] == f"SF-{period}", s
    assert Decimal(s["paidInTotal"]) == Decimal(s["payoutsTotal"]) + Decimal(s["feesTotal"]) + Decimal(s["held"])

    # A re-run changes nothing; the organisation reads the same figures.
    again = runner.api_ok("POST", "/settlement-runs", {"period": period, "date": day}, headers=as_admin)
    assert not (again["feeBookedNow"] or again["payoutBookedNow"] or again["mailed"] or again["documentsStored"])
    assert again["settlement"] == s
    assert runner.api_ok("GET", f"/settlements/{period}", key=key) == s
    books = runner.api_ok("GET", "/ledger/reconciliation", key=key)
    assert books["balanced"] is True, books

    # The self-invoice: the PDF names the number and the payout; mailed once to the organisation.
    r = runner.api("GET", f"/settlements/{period}/pdf", key=key)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf", r.text
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(r.content)).pages)
    assert f"SF-{period}" in text and "Självfaktura" in text, text
    assert f"{Decimal(s['payout']):.2f}".replace(".", ",") in text.replace("\u00a0", " ").replace(" ", ""), text
    mails = [m for m in runner.api_ok("GET", "/outbox", params={"limit": 500})["items"]
             if m["to"] == "styrelsen@fakturan.se" and f"SF-{period}" in m["subject"]]
    assert len(mails) == 1, mails

    # The bank file: the platform admin's only; to the organisation's Bankgiro, a Bankgirot LB file from the
    # platform's client-funds Bankgiro, the same bytes every time.
    assert_error(runner.api("GET", f"/settlements/{period}/payout-file", key=key), 403, "forbidden")
    r = runner.api("GET", f"/settlements/{period}/payout-file", headers=as_admin)
    assert_lb_pays(r, "5050-1055", "5050-1055", s)
    assert r.content == runner.api("GET", f"/settlements/{period}/payout-file", headers=as_admin).content
    assert s["latePayments"] == [] and Decimal(s["paidLate"]) == 0, s

    SETTLED.update(org=org, key=key, period=period, settlement=s, invoice=invoice, driver=d)
    # Another organisation sees nothing of it.
    other = unique("brf-other").lower()
    runner.api_ok("POST", "/organisations", org_body(other), status=201)
    other_key = admin_key_of(runner, other)
    theirs = runner.api_ok("GET", f"/settlements/{period}", key=other_key)
    assert Decimal(theirs["paidIn"]) == 0 and theirs["organisationId"] == other, theirs
    assert_error(runner.api("GET", f"/settlements/{period}/pdf", key=other_key), 404, "not_found")


def test_a_month_pays_one_organisation_by_pain001_and_one_by_lb_and_itemises_a_late_payment(runner):
    on_time = invoiced_driver(runner, "iban", org={"payoutAccount": {"iban": "DE89370400440532013000"},
                                                   "payoutTerms": TERMS})
    late = invoiced_driver(runner, "giro", org={"payoutAccount": {"bankgiro": "991-2346"}, "payoutTerms": TERMS})
    # The Bankgiro is checked by its check digit; a wrong one names the field.
    err = assert_error(runner.api("PATCH", f"/organisations/{late['org']}", {"payoutAccount": {"bankgiro": "991-2347"}},
                                  key=late["key"]), 400, "invalid_request")
    assert "payoutAccount.bankgiro" in err["message"], err
    period = on_time["period"]
    assert late["period"] == period
    pay(runner, on_time["invoice"])
    # The second driver's bank reports the payment three days after the invoice's due date: paid late.
    inv = runner.api_ok("GET", f"/invoices/{late['invoice']['id']}", key=late["key"])
    paid_on = date.fromisoformat(inv["dueDate"]) + timedelta(days=3)
    pay(runner, late["invoice"], paid_on)
    day = next_month_25th(period)
    settled = {}
    for d in (on_time, late):
        done = runner.api_ok("POST", "/settlement-runs", {"period": period, "date": day},
                             headers={"X-Organisation": d["org"]})
        assert done["payoutBookedNow"] and done["documentsStored"], done
        settled[d["org"]] = done["settlement"]
    s_iban, s_lb = settled[on_time["org"]], settled[late["org"]]

    # pain.001 to the IBAN.
    r = runner.api("GET", f"/settlements/{period}/payout-file", headers={"X-Organisation": on_time["org"]})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml"), r.text
    xmlschema.XMLSchema(str(resources.files("sepaxml") / "schemas" / "pain.001.001.09.xsd")).validate(r.text)
    doc = ET.fromstring(r.content)
    assert doc.find(".//p:CdtrAcct/p:Id/p:IBAN", NS).text == "DE89370400440532013000"
    assert Decimal(doc.find(".//p:GrpHdr/p:CtrlSum", NS).text) == Decimal(s_iban["payout"])

    # LB to the Bankgiro, read by position and summed; a re-run makes the same file.
    as_lb = {"X-Organisation": late["org"]}
    r = runner.api("GET", f"/settlements/{period}/payout-file", headers=as_lb)
    assert_lb_pays(r, "5050-1055", "991-2346", s_lb)
    again = runner.api_ok("POST", "/settlement-runs", {"period": period, "date": day}, headers=as_lb)
    assert not (again["payoutBookedNow"] or again["documentsStored"]) and again["settlement"] == s_lb, again
    assert runner.api("GET", f"/settlements/{period}/payout-file", headers=as_lb).content == r.content

    # The late payment, itemised and reconciled to the öre; the on-time one is not.
    assert s_iban["latePayments"] == [] and Decimal(s_iban["paidLate"]) == 0, s_iban
    gross = Decimal(late["invoice"]["gross"])
    [item] = s_lb["latePayments"]
    assert item["invoiceId"] == late["invoice"]["id"] and item["invoiceNumber"] == str(late["invoice"]["number"])
    assert item["driverId"] == late["person"]["id"] and item["driverName"] == "Giro", item
    assert item["invoicePeriod"] == period and item["dueDate"] == inv["dueDate"], item
    assert item["paidOn"] == paid_on.isoformat() and Decimal(item["amount"]) == gross, item
    assert Decimal(s_lb["paidLate"]) == sum(Decimal(i["amount"]) for i in s_lb["latePayments"]) == gross
    assert Decimal(s_lb["paidLate"]) <= Decimal(s_lb["paidIn"]) and s_lb["reconciles"] is True, s_lb
    assert runner.api_ok("GET", f"/settlements/{period}", key=late["key"]) == s_lb
    pdf = runner.api("GET", f"/settlements/{period}/pdf", key=late["key"])
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Sent betalt sedan förra perioden" in text and "Giro" in text, text
    assert paid_on.isoformat() in text and inv["dueDate"] in text, text
    flat = text.replace("\u00a0", " ").replace(" ", "")
    assert f"{gross:.2f}".replace(".", ",") in flat, text


def test_without_a_payout_account_the_fee_is_booked_and_the_money_stays_held(runner):
    d = invoiced_driver(runner, "held", org={"payoutTerms": {"feePerStation": "0", "feePercent": "1"}})
    org, key, invoice, period = d["org"], d["key"], d["invoice"], d["invoice"]["period"]
    pay(runner, invoice)
    as_admin = {"X-Organisation": org}
    done = runner.api_ok("POST", "/settlement-runs", {"period": period, "date": next_month_25th(period)},
                         headers=as_admin)
    s = done["settlement"]
    assert done["feeBookedNow"] and not done["payoutBookedNow"], done
    assert "payoutAccount" in s["payoutBlocked"] and Decimal(s["payout"]) == 0, s
    gross = Decimal(invoice["gross"])
    assert Decimal(s["held"]) == gross - Decimal(s["fee"]["gross"]) and s["reconciles"], s
    assert_error(runner.api("GET", f"/settlements/{period}/payout-file", headers=as_admin), 404, "not_found")
    # With an account, the next run pays out what was held.
    runner.api_ok("PATCH", f"/organisations/{org}", {"payoutAccount": {"iban": "DE89370400440532013000"}}, key=key)
    paid = runner.api_ok("POST", "/settlement-runs", {"period": period, "date": next_month_25th(period)},
                         headers=as_admin)
    assert paid["payoutBookedNow"] and Decimal(paid["settlement"]["payout"]) == Decimal(s["held"]), paid
    assert Decimal(paid["settlement"]["held"]) == 0 and paid["settlement"]["reconciles"], paid
    r = runner.api("GET", f"/settlements/{period}/payout-file", headers=as_admin)
    assert r.status_code == 200, r.text
    xmlschema.XMLSchema(str(resources.files("sepaxml") / "schemas" / "pain.001.001.09.xsd")).validate(r.text)
    assert "<IBAN>DE89370400440532013000</IBAN>" in r.text


def test_the_organisation_sees_its_money_in_the_portal(runner, browser):  # noqa: F811
    if not SETTLED:
        pytest.skip("needs the settlement of the first test")
    org, key, period, s = SETTLED["org"], SETTLED["key"], SETTLED["period"], SETTLED["settlement"]
    invoice, d = SETTLED["invoice"], SETTLED["driver"]
    # In the portal (Chromium, axe-core): the organisation's admin sees the month's settlement and the invoice paid;
    # the driver may not see the organisation's money.
    runner.api_ok("POST", "/users", {"email": f"kassor-{org}@example.se", "name": "Kassören", "password": PASSWORD,
                                     "role": "orgAdmin"}, status=201, key=key)
    admin = Visit(browser, runner, "settlement-admin", {"email": f"kassor-{org}@example.se", "password": PASSWORD})
    try:
        admin.goto(f"/portal/invoices?period={period}")
        text = admin.page.inner_text("main")
        assert f"Avräkning för {period}" in text and "Betald" in text and str(invoice["number"]) in text, text
        assert f"{Decimal(s['payout']):.2f}".replace(".", ",") in text.replace("\u00a0", " ").replace(" ", ""), text
        assert admin.page.get_attribute(f"a[href='/api/v1/settlements/{period}/pdf']", "href"), text
        admin.check("money")
        admin.goto("/portal/invoices?period=2026-13", 400)
    finally:
        admin.close()
    driver = Visit(browser, runner, "settlement-driver", {"email": d["email"], "password": PASSWORD})
    try:
        driver.goto("/portal/invoices", 403)
    finally:
        driver.close()

