"""Issue 18, the first increment of billing from the outside: two drivers of an organisation charge at its station
under a tariff; the month's invoice run makes one invoice per driver whose totals are the sums of their priced
sessions, with consecutive numbers and OCR references that pass an independent check (length digit and Luhn); an
anonymous card's session is left out and counted; a re-run creates nothing; the ledger reconciles; each driver sees
only their own invoice at /me/invoices; another organisation's key gets 404 for it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import requests
from ocpp.v16 import call

from csms_e2e import assert_error, charger, iso, now_utc, parse_time, poll, quote, run, unique

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def org_body(org_id: str) -> dict:
    return {
        "id": org_id, "kind": "brf", "legalName": "Bostadsrättsföreningen Fakturan",
        "organisationNumber": "7696001234", "vatNumber": "SE769600123401",
        "address": {"street": "Solvägen 3", "postalCode": "12345", "city": "Solna"},
        "contactEmail": "styrelsen@fakturan.se", "language": "sv", "paymentTermsDays": 20,
    }


def admin_key_of(runner, org_id: str) -> str:
    return runner.api_ok("POST", "/api-keys", {"name": f"admin of {org_id}", "scopes": ["admin"]}, status=201,
                         headers={"X-Organisation": org_id})["key"]


def ocr_is_valid(ocr: str) -> bool:
    """Bankgirot's OCR reference check, written here from the rule: digits only, the next-to-last digit is the
    length (mod 10), and the Luhn sum over all digits (every second from the right doubled) ends in 0."""
    if not ocr.isdigit() or not 2 <= len(ocr) <= 25 or int(ocr[-2]) != len(ocr) % 10:
        return False
    total = 0
    for i, ch in enumerate(reversed(ocr)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def test_the_independent_ocr_check_itself():
    assert ocr_is_valid("12345682")  # Bankgirot's example: 123456, length digit 8, check digit 2
    assert not ocr_is_valid("12345683") and not ocr_is_valid("12345672")


class Driver:
    def __init__(self, runner, email: str, password: str):
        self.base = f"{runner.base_url}/api/v1"
        self.http = requests.Session()
        r = self.http.post(f"{self.base}/auth/sign-in", json={"email": email, "password": password}, timeout=10)
        assert r.status_code == 200, r.text
        self.csrf = r.json()["csrfToken"]

    def get(self, path: str) -> requests.Response:
        return self.http.get(f"{self.base}{path}", headers={"X-CSRF-Token": self.csrf}, timeout=10)


async def charge(cp, card: str, connector: int, start, minutes: int, wh: int) -> str:
    started = await cp.send(call.StartTransaction(connector_id=connector, id_tag=card, meter_start=1000,
                                                  timestamp=iso(start)))
    assert started.id_tag_info["status"] == "Accepted", started
    await cp.send(call.StopTransaction(transaction_id=started.transaction_id, meter_stop=1000 + wh,
                                       timestamp=iso(start + timedelta(minutes=minutes)), id_tag=card))
    return str(started.transaction_id)


def test_a_month_of_charging_becomes_one_invoice_per_driver(runner):
    org, other = unique("brf-inv").lower(), unique("brf-oth").lower()
    made = runner.api_ok("POST", "/organisations", org_body(org), status=201)
    assert made["paymentTermsDays"] == 20, made
    err = assert_error(runner.api("POST", "/organisations", org_body(other) | {"paymentTermsDays": 0}),
                       400, "invalid_request")
    assert err["message"].startswith("paymentTermsDays:"), err
    body = org_body(other)
    del body["paymentTermsDays"]
    assert runner.api_ok("POST", "/organisations", body, status=201)["paymentTermsDays"] == 30
    key, other_key = admin_key_of(runner, org), admin_key_of(runner, other)

    station = unique("CP-INV")
    runner.api_ok("POST", "/stations", {"id": station}, status=201, key=key)
    tariff = runner.api_ok("POST", "/tariffs", {"name": "Boende", "elements": [
        {"components": [{"type": "energy", "price": {"kind": "fixed", "perKwh": "2.50"}}]}]}, status=201, key=key)
    runner.api_ok("POST", "/tariff-assignments", {"tariffId": tariff["id"], "target": {"kind": "station", "id": station}},
                  status=201, key=key)
    drivers = []
    for name in ("Ada", "Bo"):
        email = f"{unique(name).lower()}@example.se"
        person = runner.api_ok("POST", "/users", {"email": email, "name": name, "password": "driver-pass-123",
                                                  "role": "driver"}, status=201, key=key)
        card = unique(name.upper())[:20]
        runner.api_ok("POST", "/id-tokens", {"idToken": card, "type": "ISO14443", "status": "Accepted",
                                             "userId": person["id"]}, status=201, key=key)
        drivers.append({"id": person["id"], "email": email, "card": card})
    anonymous = unique("ANON")[:20]
    runner.api_ok("POST", "/id-tokens", {"idToken": anonymous, "type": "ISO14443", "status": "Accepted"},
                  status=201, key=key)

    start = now_utc() - timedelta(hours=3)

    async def scenario():
        async with charger(runner, station, "1.6") as cp:
            result = await cp.send(call.BootNotification(charge_point_vendor="Acme", charge_point_model="Inv-16"))
            assert result.status == "Accepted", result
            ada = [await charge(cp, drivers[0]["card"], 1, start, 30, 7_500),
                   await charge(cp, drivers[0]["card"], 1, start + timedelta(minutes=40), 20, 3_333)]
            bo = [await charge(cp, drivers[1]["card"], 2, start + timedelta(minutes=5), 45, 12_345)]
            anon = await charge(cp, anonymous, 2, start + timedelta(minutes=60), 10, 1_000)
            return ada, bo, anon

    ada_tx, bo_tx, anon_tx = run(scenario())

    def session_id(tx: str) -> str:
        items = poll(lambda: runner.api_ok("GET", "/sessions", params={"stationId": station}, key=key)["items"]
                     if len(runner.api_ok("GET", "/sessions", params={"stationId": station}, key=key)["items"]) >= 4
                     else None, what="the four sessions")
        return next(s["id"] for s in items if s["transactionId"] == tx)

    def price(sid: str) -> dict:
        def get():
            r = runner.api("GET", f"/sessions/{quote(sid)}/price", key=key)
            return r.json() if r.status_code == 200 else None
        return poll(get, timeout=15, what=f"session {sid} to be priced")

    gross = {}
    for d, txs in zip(drivers, (ada_tx, bo_tx)):
        prices = [price(session_id(tx)) for tx in txs]
        gross[d["id"]] = (sum(Decimal(p["gross"]) for p in prices), sorted(p["sessionId"] for p in prices))
    anon_session = session_id(anon_tx)
    price(anon_session)
    started = parse_time(runner.api_ok("GET", f"/sessions/{quote(anon_session)}", key=key)["startedAt"])
    period = started.astimezone(STOCKHOLM).strftime("%Y-%m")

    # Bad input names the field; the run is an admin's.
    err = assert_error(runner.api("POST", "/invoice-runs", {"period": "2026-13"}, key=key), 400, "invalid_request")
    assert err["message"].startswith("period:"), err

    result = runner.api_ok("POST", "/invoice-runs", {"period": period}, key=key)
    assert result["period"] == period and result["organisationId"] == org, result
    assert result["existing"] == [] and result["sessionsInvoiced"] == 3 and result["ledgerPosted"] == 2, result
    assert result["skipped"] == [{"sessionId": anon_session, "reason": "anonymous"}], result
    created = result["created"]
    assert sorted(int(i["number"]) for i in created) == [1, 2], created
    for summary in created:
        total, sessions = gross[summary["userId"]]
        assert Decimal(summary["gross"]) == total, (summary, total)
        assert Decimal(summary["net"]) + Decimal(summary["vat"]) == total, summary
        assert ocr_is_valid(summary["ocr"]), summary
        # The organisation's billing code, then the number zero-padded to seven digits: unique platform-wide.
        assert summary["ocr"][:-2].endswith(f"{int(summary['number']):07d}"), summary
        assert int(summary["ocr"][:-9]) >= 1, summary
        invoice = runner.api_ok("GET", f"/invoices/{quote(summary['id'])}", key=key)
        assert sorted(l["sessionId"] for l in invoice["lines"]) == sessions, invoice
        assert sum(Decimal(l["gross"]) for l in invoice["lines"]) == total, invoice
        assert invoice["seller"]["vatNumber"] == "SE769600123401", invoice
        assert invoice["seller"]["organisationNumber"] == "769600-1234", invoice
        assert [v["rate"] for v in invoice["vatRates"]] == ["0.25"], invoice
        # The organisation's payment terms: 20 days.
        assert (parse_time(invoice["dueDate"] + "T00:00:00Z") - parse_time(invoice["issueDate"] + "T00:00:00Z")
                ).days == 20, invoice
        # Another organisation's key: as if it did not exist.
        assert_error(runner.api("GET", f"/invoices/{quote(summary['id'])}", key=other_key), 404, "not_found")

    # Again: nothing new, the same numbers.
    again = runner.api_ok("POST", "/invoice-runs", {"period": period}, key=key)
    assert again["created"] == [] and sorted(again["existing"]) == sorted(i["id"] for i in created), again
    assert again["ledgerPosted"] == 0, again
    listed = runner.api_ok("GET", "/invoices", params={"period": period}, key=key)["items"]
    assert [i["number"] for i in listed] == ["2", "1"], listed
    assert runner.api_ok("GET", "/invoices", key=other_key)["items"] == []

    # The books: each driver owes their invoice, the organisation is owed it all, and debits = credits.
    books = runner.api_ok("GET", "/ledger/reconciliation", key=key)
    assert books["balanced"] is True and books["transactions"] == 2, books
    assert books["totals"][0]["difference"] == "0" and books["totals"][0]["sumOfBalances"] == "0", books
    accounts = {a["account"]: Decimal(a["balance"]) for a in runner.api_ok("GET", "/ledger/accounts", key=key)["items"]}
    for d in drivers:
        assert accounts[f"receivable:{org}:{d['id']}"] == gross[d["id"]][0], accounts
    assert accounts[f"payable:{org}"] == -sum(g for g, _ in gross.values()), accounts

    # Each driver sees their own invoice, and only that.
    for d in drivers:
        mine = Driver(runner, d["email"], "driver-pass-123").get("/me/invoices")
        assert mine.status_code == 200, mine.text
        items = mine.json()["items"]
        assert [(i["userId"], Decimal(i["gross"])) for i in items] == [(d["id"], gross[d["id"]][0])], items
    assert_error(runner.api("GET", "/me/invoices", key=key), 403, "forbidden")

    pay_by_bankgiro(runner, org, key, other_key, created)


def bgmax_record(*fields: tuple[int, str]) -> str:
    """One 80-character BgMax record: each field written at its 1-based position (Bankgirot's record layout)."""
    line = [" "] * 80
    for at, text in fields:
        line[at - 1:at - 1 + len(text)] = list(text)
    return "".join(line)


def bgmax_file(deposit_serial: int, payments: list[tuple[str, int]]) -> str:
    """A BgMax file with one deposit of payments (OCR reference, amount in öre), built from the documented layout:
    01 start, 05 opening, 20 payment per payment, 15 deposit (total and count), 70 end (counts)."""
    lines = [bgmax_record((1, "01"), (3, "BGMAX"), (23, "01"), (25, "20261205083000000000"), (45, "T")),
             bgmax_record((1, "05"), (3, "0009912346"), (23, "SEK"))]
    for i, (reference, ore) in enumerate(payments, start=1):
        lines.append(bgmax_record((1, "20"), (3, "0000000000"), (13, reference), (38, f"{ore:018d}"), (56, "2"),
                                  (57, "1"), (58, f"{i:012d}"), (70, "0")))
    lines.append(bgmax_record((1, "15"), (3, "12345678901"), (38, "20261204"), (46, f"{deposit_serial:05d}"),
                              (51, f"{sum(o for _, o in payments):018d}"), (69, "SEK"), (72, f"{len(payments):08d}")))
    lines.append(bgmax_record((1, "70"), (3, f"{len(payments):08d}"), (11, "00000000"), (19, "00000000"),
                              (27, "00000001")))
    return "\r\n".join(lines) + "\r\n"


def pay_by_bankgiro(runner, org: str, key: str, other_key: str, created: list[dict]) -> None:
    """Issue 18, second increment: a BgMax file pays one invoice in full and one in part, and brings a payment with
    an unknown reference that is then matched by hand; importing it again changes nothing."""
    full, part = sorted(created, key=lambda i: int(i["number"]))
    full_ore, part_gross = int(Decimal(full["gross"]) * 100), Decimal(part["gross"])
    part_ore = int(part_gross * 100) // 2
    rest_ore = int(part_gross * 100) - part_ore
    assert part_ore > 0 and rest_ore > 0, part
    deposit = now_utc().microsecond % 100_000  # a deposit serial of its own, so a rerun is a new deposit
    text = bgmax_file(deposit, [(full["ocr"], full_ore), (part["ocr"], part_ore), ("12345682", rest_ore)])

    def import_file(body: str, k: str | None = "admin"):
        return runner.api("POST", "/payments/bankgiro", key=k, data=body.encode("utf-8"),
                          headers={"Content-Type": "text/plain; charset=utf-8"})

    # The client-funds account is the platform's: an organisation's admin key is refused.
    assert_error(import_file(text, key), 403, "forbidden")
    # A file whose deposit total is not its payments' sum is refused, naming the line and the field.
    broken = text.replace(f"{full_ore + part_ore + rest_ore:018d}", f"{full_ore + part_ore + rest_ore + 1:018d}")
    err = assert_error(import_file(broken), 400, "invalid_request")
    assert err["message"].startswith("line 6: depositAmount"), err

    r = import_file(text)
    assert r.status_code == 200, r.text
    result = r.json()
    assert [p["invoiceId"] for p in result["matched"]] == [full["id"], part["id"]], result
    assert result["alreadyImported"] == [] and len(result["unmatched"]) == 1, result
    unknown = result["unmatched"][0]
    assert unknown["reference"] == "12345682" and unknown["invoiceId"] is None, unknown
    assert unknown["id"] == f"bgmax:{deposit}:000000000003", unknown

    def invoice(i: dict) -> dict:
        return runner.api_ok("GET", f"/invoices/{quote(i['id'])}", key=key)

    paid, partly = invoice(full), invoice(part)
    assert paid["status"] == "paid" and Decimal(paid["amountDue"]) == 0, paid
    assert [p["id"] for p in paid["payments"]] == [f"bgmax:{deposit}:000000000001"], paid
    assert partly["status"] == "partlyPaid", partly
    assert Decimal(partly["amountDue"]) == Decimal(rest_ore) / 100, partly
    assert runner.api_ok("GET", "/invoices", params={"status": "paid"}, key=key)["items"][0]["id"] == full["id"]

    # The books: the Bankgiro clearing account holds what was paid, the full payer owes nothing, debits = credits.
    books = runner.api_ok("GET", "/ledger/reconciliation", key=key)
    assert books["balanced"] is True and books["transactions"] == 4, books
    accounts = {a["account"]: Decimal(a["balance"]) for a in runner.api_ok("GET", "/ledger/accounts", key=key)["items"]}
    assert accounts["clearing:bankgiro"] == Decimal(full_ore + part_ore) / 100, accounts
    assert accounts[f"receivable:{org}:{full['userId']}"] == 0, accounts

    # The unknown reference waits for matching by hand; the platform admin matches it to the partly paid invoice.
    unmatched = runner.api_ok("GET", "/payments/unmatched", params={"limit": 500})["items"]
    assert unknown["id"] in [p["id"] for p in unmatched], unmatched
    assert_error(runner.api("GET", "/payments/unmatched", key=key), 403, "forbidden")
    err = assert_error(runner.api("POST", f"/payments/{unknown['id']}/match", {"invoiceId": "nope"}), 400,
                       "invalid_request")
    assert err["message"].startswith("invoiceId:"), err
    matched = runner.api_ok("POST", f"/payments/{unknown['id']}/match", {"invoiceId": part["id"]})
    assert matched["invoiceId"] == part["id"] and Decimal(matched["surplus"]) == 0, matched
    assert_error(runner.api("POST", f"/payments/{unknown['id']}/match", {"invoiceId": part["id"]}), 409, "conflict")
    partly = invoice(part)
    assert partly["status"] == "paid" and Decimal(partly["amountDue"]) == 0 and len(partly["payments"]) == 2, partly
    unmatched = runner.api_ok("GET", "/payments/unmatched", params={"limit": 500})["items"]
    assert unknown["id"] not in [p["id"] for p in unmatched], unmatched

    # The same file again: nothing booked, nothing changed.
    again = import_file(text).json()
    assert again["matched"] == [] and again["unmatched"] == [] and len(again["alreadyImported"]) == 3, again
    books = runner.api_ok("GET", "/ledger/reconciliation", key=key)
    assert books["balanced"] is True and books["transactions"] == 5, books
    assert invoice(full)["status"] == "paid" and invoice(part)["status"] == "paid"
    # Another organisation sees none of it.
    assert_error(runner.api("GET", f"/invoices/{quote(part['id'])}", key=other_key), 404, "not_found")
