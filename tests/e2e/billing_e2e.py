"""What the billing tests set up again and again: an organisation with a tariffed station, a driver with a card who
charged once there, and the month's invoice of that session."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from ocpp.v16 import call

from csms_e2e import charger, now_utc, poll, quote, run, unique
from test_invoices import admin_key_of, charge, org_body

STOCKHOLM = ZoneInfo("Europe/Stockholm")
PASSWORD = "driver-pass-123"


def wait_priced(runner, station: str, key: str) -> dict:
    """The price of the station's newest session, once the pricing has made it (at most 15 s)."""
    def priced():
        items = runner.api_ok("GET", "/sessions", params={"stationId": station}, key=key)["items"]
        if not items:
            return None
        r = runner.api("GET", f"/sessions/{quote(items[0]['id'])}/price", key=key)
        return r.json() if r.status_code == 200 else None

    return poll(priced, timeout=15, what="the session to be priced")


def invoiced_driver(runner, prefix: str, *, per_kwh: str = "2.50", wh: int = 8_000, minutes: int = 30,
                    org: dict | None = None, before_run=None, setup=None) -> dict:
    """The organisation `{prefix}-…` (fields of `org` over the test body), its admin key, a driver (`email`,
    password `PASSWORD`) with a card, one session of `wh` at `per_kwh` SEK/kWh at its station two hours ago, priced,
    and the month's invoice run: {"org", "key", "station", "email", "person", "card", "invoice", "period"}.
    `before_run`, if given, is called with the driver's `email` just before the run; `setup`, if given, then with
    {"org", "key", "person", "period"}."""
    org_id = unique(f"brf-{prefix}").lower()
    runner.api_ok("POST", "/organisations", org_body(org_id) | (org or {}), status=201)
    key = admin_key_of(runner, org_id)
    station = unique(f"CP-{prefix.upper()}")
    runner.api_ok("POST", "/stations", {"id": station}, status=201, key=key)
    tariff = runner.api_ok("POST", "/tariffs", {"name": "Boende", "elements": [
        {"components": [{"type": "energy", "price": {"kind": "fixed", "perKwh": per_kwh}}]}]}, status=201, key=key)
    runner.api_ok("POST", "/tariff-assignments", {"tariffId": tariff["id"], "target": {"kind": "station", "id": station}},
                  status=201, key=key)
    email = f"{unique(prefix).lower()}@example.se"
    person = runner.api_ok("POST", "/users", {"email": email, "name": prefix.title(), "password": PASSWORD,
                                              "role": "driver"}, status=201, key=key)
    card = unique(prefix.upper())[:20]
    runner.api_ok("POST", "/id-tokens", {"idToken": card, "type": "ISO14443", "status": "Accepted",
                                         "userId": person["id"]}, status=201, key=key)
    start = now_utc() - timedelta(hours=2)

    async def session():
        async with charger(runner, station, "1.6") as cp:
            boot = await cp.send(call.BootNotification(charge_point_vendor="Acme", charge_point_model="Bill-16"))
            assert boot.status == "Accepted", boot
            await charge(cp, card, 1, start, minutes, wh)

    run(session())
    wait_priced(runner, station, key)
    if before_run:
        before_run(email)
    period = start.astimezone(STOCKHOLM).strftime("%Y-%m")
    if setup:
        setup({"org": org_id, "key": key, "person": person, "period": period})
    invoice = runner.api_ok("POST", "/invoice-runs", {"period": period}, key=key)["created"][0]
    return {"org": org_id, "key": key, "station": station, "email": email, "person": person, "card": card,
            "invoice": invoice, "period": period}
