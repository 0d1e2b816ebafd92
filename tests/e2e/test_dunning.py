"""Issue 18, reminders and blocking from the outside: an organisation with a reminder fee invoices a driver; dunning
runs as of the days after the due date (POST /dunning-runs with a date, the platform admin's only: csms-local has no
clock to turn, so the run is told which day it is); reminders 1 and 2 land in the outbox once each however often the
day is run, the fee is booked; at the third step the driver's card is refused at a charger (Authorize → Blocked) at
that organisation's station only; a BgMax payment of the invoice lifts the block and the card is accepted again. An
accounting system subscribed to the invoice.* webhooks hears each step once, in order."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from ocpp.v16 import call

from billing_e2e import wait_priced
from csms_e2e import assert_error, charger, now_utc, poll, quote, run, unique
from test_invoices import admin_key_of, bgmax_file, charge, org_body

STOCKHOLM = ZoneInfo("Europe/Stockholm")


async def authorize(runner, station: str, card: str) -> str:
    async with charger(runner, station, "1.6") as cp:
        boot = await cp.send(call.BootNotification(charge_point_vendor="Acme", charge_point_model="Dun-16"))
        assert boot.status == "Accepted", boot
        return (await cp.send(call.Authorize(id_tag=card))).id_tag_info["status"]


def test_reminders_then_the_block_and_paying_lifts_it(runner):
    org, other = unique("brf-dun").lower(), unique("brf-dun2").lower()
    body = org_body(org) | {"paymentTermsDays": 1}
    err = assert_error(runner.api("POST", "/organisations", body | {"dunning": {"reminderFee": "60.01"}}),
                       400, "invalid_request")
    assert err["message"].startswith("dunning.reminderFee:"), err
    made = runner.api_ok("POST", "/organisations", body | {"dunning": {"reminderFee": "60.00"}}, status=201)
    assert made["dunning"] == {"reminderDays": [3, 10], "reminderFee": "60.00", "blockDays": 17}, made
    runner.api_ok("POST", "/organisations", org_body(other), status=201)
    key, other_key = admin_key_of(runner, org), admin_key_of(runner, other)
    as_platform = {"X-Organisation": org}

    # One station here, one of the other organisation where the same person also holds a card.
    station, elsewhere = unique("CP-DUN"), unique("CP-DUO")
    runner.api_ok("POST", "/stations", {"id": station}, status=201, key=key)
    runner.api_ok("POST", "/stations", {"id": elsewhere}, status=201, key=other_key)
    tariff = runner.api_ok("POST", "/tariffs", {"name": "Boende", "elements": [
        {"components": [{"type": "energy", "price": {"kind": "fixed", "perKwh": "2.50"}}]}]}, status=201, key=key)
    runner.api_ok("POST", "/tariff-assignments", {"tariffId": tariff["id"], "target": {"kind": "station", "id": station}},
                  status=201, key=key)
    email = f"{unique('eva').lower()}@example.se"
    person = runner.api_ok("POST", "/users", {"email": email, "name": "Eva", "password": "driver-pass-123",
                                              "role": "driver", "language": "en"}, status=201, key=key)
    card = unique("EVA")[:20]
    runner.api_ok("POST", "/id-tokens", {"idToken": card, "type": "ISO14443", "status": "Accepted",
                                         "userId": person["id"]}, status=201, key=key)
    other_card = unique("EVO")[:20]
    runner.api_ok("POST", "/id-tokens", {"idToken": other_card, "type": "ISO14443", "status": "Accepted"},
                  status=201, key=other_key)

    start = now_utc() - timedelta(hours=2)

    async def session():
        async with charger(runner, station, "1.6") as cp:
            boot = await cp.send(call.BootNotification(charge_point_vendor="Acme", charge_point_model="Dun-16"))
            assert boot.status == "Accepted", boot
            return await charge(cp, card, 1, start, 30, 8_000)

    # The organisation's accounting system listens (a closed local port: the delivery log keeps what was sent).
    hook = runner.api_ok("POST", "/webhooks", {"url": "http://127.0.0.1:9/invoices", "events": [
        "invoice.issued", "invoice.paid", "invoice.reminded", "invoice.blocked"]}, status=201, headers=as_platform)

    run(session())
    wait_priced(runner, station, key)
    period = start.astimezone(STOCKHOLM).strftime("%Y-%m")
    invoice = runner.api_ok("POST", "/invoice-runs", {"period": period}, key=key)["created"][0]
    due = date.fromisoformat(invoice["dueDate"])
    assert invoice["overdue"] is False and invoice["blocked"] is False, invoice

    def dunning(days_after_due: int, k: str | None = "admin") -> dict:
        day = (due + timedelta(days=days_after_due)).isoformat()
        headers = as_platform if k == "admin" else None
        return runner.api_ok("POST", "/dunning-runs", {"date": day}, key=k, headers=headers)

    def mails() -> list[dict]:
        return [m for m in runner.api_ok("GET", "/outbox", params={"limit": 500})["items"] if m["to"] == email]

    # Only the platform admin tells a run which day it is; the organisation runs today (nothing is due).
    err = assert_error(runner.api("POST", "/dunning-runs", {"date": due.isoformat()}, key=key), 400,
                       "invalid_request")
    assert err["message"].startswith("date:"), err
    assert runner.api_ok("POST", "/dunning-runs", {}, key=key)["reminded"] == []

    assert dunning(2)["reminded"] == []

    # Disputed: no step while the dispute is open; resolved (today), the chain goes on with its days from today.
    at = f"/invoices/{quote(invoice['id'])}/dispute"
    err = assert_error(runner.api("POST", at, {"reason": "  "}, key=key), 400, "invalid_request")
    assert err["message"].startswith("reason:"), err
    disputed = runner.api_ok("POST", at, {"reason": "Jag laddade inte den dagen"}, key=key)
    assert disputed["disputed"] is True and disputed["dispute"]["resolvedAt"] is None, disputed
    assert disputed["dispute"]["reason"] == "Jag laddade inte den dagen", disputed
    assert_error(runner.api("POST", at, {"reason": "igen"}, key=key), 409, "conflict")
    assert_error(runner.api("POST", at, {"reason": "B's"}, key=other_key), 404, "not_found")
    assert dunning(3)["reminded"] == [] and dunning(12)["reminded"] == []
    resolved = runner.api_ok("DELETE", at, key=key)
    assert resolved["disputed"] is False and resolved["dispute"]["resolvedAt"], resolved
    assert_error(runner.api("DELETE", at, key=key), 409, "conflict")

    first = dunning(3)
    assert first["reminded"] == [{"invoiceId": invoice["id"], "reminder": 1}] and first["mailed"] == 1, first
    again = dunning(3)
    assert again["reminded"] == [] and again["mailed"] == 0, again
    assert [m["kind"] for m in mails()] == ["invoiceReminder"], mails()
    raw = runner.api("GET", f"/outbox/{mails()[0]['id']}").content.decode()
    assert f"Reminder 1: invoice {invoice['number']}" in raw, raw
    assert invoice["ocr"] in raw and due.isoformat() in raw, raw

    second = dunning(10)
    assert second["reminded"] == [{"invoiceId": invoice["id"], "reminder": 2}], second
    dunning(11)
    assert len(mails()) == 2, mails()

    # Not blocked yet: the card works here.
    assert run(authorize(runner, station, card)) == "Accepted"
    blocked = dunning(17)
    assert blocked["blocked"] == [invoice["id"]] and blocked["tokensBlocked"] == 1, blocked
    assert dunning(18)["blocked"] == []
    assert run(authorize(runner, station, card)) == "Blocked"
    # Another organisation's station and card are not touched.
    assert run(authorize(runner, elsewhere, other_card)) == "Accepted"

    shown = runner.api_ok("GET", f"/invoices/{quote(invoice['id'])}", key=key)
    assert [(r["number"], r["fee"]) for r in shown["reminders"]] == [(1, "60.00"), (2, "60.00")], shown
    assert all(r["mailedAt"] for r in shown["reminders"]), shown
    assert shown["reminderFees"] == "120.00" and shown["blocked"] is True, shown
    assert shown["block"]["liftedAt"] is None, shown
    # Another organisation's admin cannot lift it: as if it did not exist.
    assert_error(runner.api("POST", f"/invoices/{quote(invoice['id'])}/unblock", key=other_key), 404, "not_found")

    # The fees are booked once each, and the books balance.
    books = runner.api_ok("GET", "/ledger/reconciliation", key=key)
    assert books["balanced"] is True and books["transactions"] == 3, books

    # Paid by Bankgiro: the block is lifted and the card accepted again.
    gross_ore = int(Decimal(invoice["gross"]) * 100)
    text = bgmax_file(now_utc().microsecond % 100_000, [(invoice["ocr"], gross_ore)])
    r = runner.api("POST", "/payments/bankgiro", data=text.encode(),
                   headers={"Content-Type": "text/plain; charset=utf-8"})
    assert r.status_code == 200, r.text
    assert [p["invoiceId"] for p in r.json()["matched"]] == [invoice["id"]], r.text
    paid = runner.api_ok("GET", f"/invoices/{quote(invoice['id'])}", key=key)
    assert paid["status"] == "paid" and paid["blocked"] is False, paid
    assert paid["block"]["liftedBy"] == "payment", paid
    assert run(authorize(runner, station, card)) == "Accepted"
    assert dunning(30)["blocked"] == [] and len(mails()) == 2

    # Each step told once, in order, with the invoice as GET /invoices lists it; the re-runs told nothing.
    def told():
        items = runner.api_ok("GET", f"/webhooks/{hook['id']}/deliveries", headers=as_platform,
                              params={"limit": 50})["items"]
        return items if len(items) >= 5 else None

    log = sorted(poll(told, timeout=10, what="five invoice events"), key=lambda d: d["createdAt"])
    assert [d["eventType"] for d in log] == ["invoice.issued", "invoice.reminded", "invoice.reminded",
                                             "invoice.blocked", "invoice.paid"], log
    assert all(d["payload"]["data"]["id"] == invoice["id"] for d in log), log
    assert [d["payload"]["data"]["remindersSent"] for d in log] == [0, 1, 2, 2, 2], log
    assert log[3]["payload"]["data"]["blocked"] is True and log[4]["payload"]["data"]["status"] == "paid", log
