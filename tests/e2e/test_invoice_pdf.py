"""Issue 18, a PDF per invoice, from the outside: a month of priced sessions of two drivers (one Swedish, one English)
becomes two invoices; each is downloadable as a PDF whose text (read by pypdf) holds its number, OCR reference,
Bankgiro, total and sessions, by the organisation and by the driver; each driver got exactly one mail with that same
PDF attached; a re-run renders and mails nothing; another organisation's admin and another driver get 404."""

from __future__ import annotations

import email
import email.policy
import io
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pypdf
import pytest
import requests
from ocpp.v16 import call

from csms_e2e import assert_error, charger, iso, now_utc, parse_time, poll, quote, run, started_runner, unique

STOCKHOLM = ZoneInfo("Europe/Stockholm")
BANKGIRO = "5050-1055"


@pytest.fixture(scope="module")
def runner(csms_bin, e2e_tmp):
    with started_runner(csms_bin, e2e_tmp, "test_invoice_pdf", extra_env={"CSMS_BANKGIRO": BANKGIRO}) as r:
        yield r


def org_body(org_id: str) -> dict:
    return {
        "id": org_id, "kind": "brf", "legalName": "Bostadsrättsföreningen Åkervägen",
        "organisationNumber": "7696001234", "vatNumber": "SE769600123401",
        "address": {"street": "Solvägen 3", "postalCode": "12345", "city": "Solna"},
        "contactEmail": "styrelsen@akervagen.se", "language": "sv",
    }


def admin_key_of(runner, org_id: str) -> str:
    return runner.api_ok("POST", "/api-keys", {"name": f"admin of {org_id}", "scopes": ["admin"]}, status=201,
                         headers={"X-Organisation": org_id})["key"]


class Driver:
    def __init__(self, runner, email_address: str, password: str):
        self.base = f"{runner.base_url}/api/v1"
        self.http = requests.Session()
        r = self.http.post(f"{self.base}/auth/sign-in", json={"email": email_address, "password": password},
                           timeout=10)
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


def pdf_text(data: bytes) -> tuple[int, str]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def swedish_amount(value: Decimal) -> str:
    """`1 234,50 kr`, written here from the Swedish convention."""
    whole, frac = f"{value:.2f}".split(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    return f"{' '.join(groups)},{frac} kr"


def invoice_mails(runner) -> list[email.message.EmailMessage]:
    out = []
    for entry in runner.api_ok("GET", "/outbox", params={"limit": 100})["items"]:
        if entry["kind"] != "invoice":
            continue
        raw = runner.api("GET", f"/outbox/{entry['id']}")
        assert raw.status_code == 200, raw.text
        out.append(email.message_from_bytes(raw.content, policy=email.policy.default))
    return out


def test_invoices_are_rendered_downloaded_and_mailed_once(runner):
    org, other = unique("brf-pdf").lower(), unique("brf-oth").lower()
    runner.api_ok("POST", "/organisations", org_body(org), status=201)
    runner.api_ok("POST", "/organisations", org_body(other), status=201)
    key, other_key = admin_key_of(runner, org), admin_key_of(runner, other)

    station = unique("CP-PDF")
    runner.api_ok("POST", "/stations", {"id": station}, status=201, key=key)
    tariff = runner.api_ok("POST", "/tariffs", {"name": "Boende", "elements": [
        {"components": [{"type": "energy", "price": {"kind": "fixed", "perKwh": "2.50"}}]}]}, status=201, key=key)
    runner.api_ok("POST", "/tariff-assignments", {"tariffId": tariff["id"], "target": {"kind": "station", "id": station}},
                  status=201, key=key)
    drivers = []
    for name, language in (("Åsa", "sv"), ("Bo", "en")):
        address = f"{unique('drv').lower()}@example.se"
        person = runner.api_ok("POST", "/users", {"email": address, "name": name, "password": "driver-pass-123",
                                                  "role": "driver", "language": language}, status=201, key=key)
        card = unique("CARD")[:20]
        runner.api_ok("POST", "/id-tokens", {"idToken": card, "type": "ISO14443", "status": "Accepted",
                                             "userId": person["id"]}, status=201, key=key)
        drivers.append({"id": person["id"], "email": address, "card": card, "language": language, "name": name})

    start = now_utc() - timedelta(hours=3)

    async def scenario():
        async with charger(runner, station, "1.6") as cp:
            result = await cp.send(call.BootNotification(charge_point_vendor="Acme", charge_point_model="Pdf-16"))
            assert result.status == "Accepted", result
            return [[await charge(cp, drivers[0]["card"], 1, start, 30, 7_500),
                     await charge(cp, drivers[0]["card"], 1, start + timedelta(minutes=40), 20, 3_333)],
                    [await charge(cp, drivers[1]["card"], 2, start + timedelta(minutes=5), 45, 12_345)]]

    txs = run(scenario())

    def sessions():
        items = runner.api_ok("GET", "/sessions", params={"stationId": station}, key=key)["items"]
        return items if len(items) >= 3 else None

    items = poll(sessions, what="the three sessions")
    by_tx = {s["transactionId"]: s["id"] for s in items}

    def price(sid: str) -> dict:
        def get():
            r = runner.api("GET", f"/sessions/{quote(sid)}/price", key=key)
            return r.json() if r.status_code == 200 else None
        return poll(get, timeout=15, what=f"session {sid} to be priced")

    for d, tx_list in zip(drivers, txs):
        d["sessions"] = sorted(by_tx[tx] for tx in tx_list)
        d["gross"] = sum(Decimal(price(s)["gross"]) for s in d["sessions"])
    started = parse_time(runner.api_ok("GET", f"/sessions/{quote(drivers[0]['sessions'][0])}", key=key)["startedAt"])
    period = started.astimezone(STOCKHOLM).strftime("%Y-%m")

    mails_before = len(invoice_mails(runner))
    result = runner.api_ok("POST", "/invoice-runs", {"period": period}, key=key)
    created = {i["userId"]: i for i in result["created"]}
    assert len(created) == 2, result
    delivery = result["delivery"]
    assert delivery["pdfsRendered"] == 2 and delivery["mailedBefore"] == 0, delivery
    assert sorted(delivery["mailed"]) == sorted(i["id"] for i in created.values()), delivery
    assert delivery["noEmail"] == [] and delivery["failed"] == [] and delivery["unavailable"] is None, delivery

    mails = invoice_mails(runner)
    assert len(mails) == mails_before + 2, [m["Subject"] for m in mails]
    for d in drivers:
        inv = created[d["id"]]
        assert Decimal(inv["gross"]) == d["gross"], (inv, d)
        # The organisation's download.
        r = runner.api("GET", f"/invoices/{quote(inv['id'])}/pdf", key=key)
        assert r.status_code == 200, r.text
        assert r.headers["Content-Type"] == "application/pdf", r.headers
        assert r.headers["Content-Disposition"] == f'attachment; filename="faktura-{inv["number"]}.pdf"', r.headers
        pdf = r.content
        pages, text = pdf_text(pdf)
        assert pages == 1, pages
        for wanted in [inv["number"], inv["ocr"], BANKGIRO, "Bostadsrättsföreningen Åkervägen", "769600-1234",
                       "SE769600123401", d["name"], *d["sessions"]]:
            assert wanted in text, f"{wanted!r} not in the PDF:\n{text}"
        if d["language"] == "sv":
            assert "FAKTURA" in text and swedish_amount(d["gross"]) in text, text
            assert "Sida 1 av 1" in text, text
        else:
            assert "INVOICE" in text and f"SEK {d['gross']:,.2f}" in text, text
            assert "Page 1 of 1" in text, text
        # The driver's own download: the same file.
        me = Driver(runner, d["email"], "driver-pass-123")
        mine = me.get(f"/me/invoices/{quote(inv['id'])}/pdf")
        assert mine.status_code == 200 and mine.content == pdf, mine.text[:200]
        # Exactly one mail to the driver, with that PDF attached.
        theirs = [m for m in mails if m["To"].addresses[0].addr_spec == d["email"]]
        assert len(theirs) == 1, [m["To"] for m in mails]
        mail = theirs[0]
        body = mail.get_body(preferencelist=("plain",)).get_content()
        assert inv["ocr"] in body and BANKGIRO in body and inv["dueDate"] in body, body
        attachments = list(mail.iter_attachments())
        assert len(attachments) == 1, attachments
        assert attachments[0].get_content_type() == "application/pdf"
        assert attachments[0].get_content() == pdf
        stem = "faktura" if d["language"] == "sv" else "invoice"
        assert attachments[0].get_filename() == f"{stem}-{inv['number']}.pdf"
        # Another organisation's admin, and the other driver: not found.
        assert_error(runner.api("GET", f"/invoices/{quote(inv['id'])}/pdf", key=other_key), 404, "not_found")
        someone_else = next(o for o in drivers if o is not d)
        other_driver = Driver(runner, someone_else["email"], "driver-pass-123")
        assert_error(other_driver.get(f"/me/invoices/{quote(inv['id'])}/pdf"), 404, "not_found")
        # An API key is not a person.
        assert_error(runner.api("GET", f"/me/invoices/{quote(inv['id'])}/pdf", key=key), 403, "forbidden")

    # A bad id names the field.
    err = assert_error(runner.api("GET", "/invoices/not-an-id/pdf", key=key), 400, "invalid_request")
    assert err["message"].startswith("id:"), err

    # Again: nothing rendered, nobody mailed, the same files.
    again = runner.api_ok("POST", "/invoice-runs", {"period": period}, key=key)
    assert again["created"] == [], again
    assert again["delivery"]["pdfsRendered"] == 0 and again["delivery"]["mailed"] == [], again
    assert again["delivery"]["mailedBefore"] == 2, again
    assert len(invoice_mails(runner)) == mails_before + 2
    stored = sorted(p.name for p in (runner.data_dir / "documents" / "invoices").iterdir())
    assert sorted(f"{i['id']}.pdf" for i in created.values()) == [s for s in stored if s.startswith(org)], stored
