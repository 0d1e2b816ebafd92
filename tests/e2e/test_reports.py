"""The usage report end to end: a 1.6 charger of an organisation runs two priced sessions with known meter
values and status changes; the report (JSON, CSV and XLSX) shows the sessions, their energy, the charging time
the charger really spent (within a second of the elapsed time measured here) and revenue equal to the priced
sessions; another organisation sees none of it."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from ocpp.v16 import call

from csms_e2e import assert_error, charger, iso, now_utc, poll, quote, run, started_runner, unique
from test_tenants import admin_key_of, org_body

PASSWORD = "reports-pass-1234"
STOCKHOLM = ZoneInfo("Europe/Stockholm")


@pytest.fixture(scope="module")
def runner(csms_bin, e2e_tmp):
    with started_runner(csms_bin, e2e_tmp, "reports", extra_env={"CSMS_SPOT_FETCH": "off"}) as r:
        yield r


def status(connector: int, s: str):
    return call.StatusNotification(connector_id=connector, error_code="NoError", status=s, timestamp=iso(now_utc()))


async def session(cp, tag: str, meter_start: int, wh: int, charge_seconds: float) -> tuple[int, float]:
    """Preparing, start, Charging for `charge_seconds` (a power reading meanwhile), Finishing, stop,
    Available. Returns the transaction id and the seconds measured between Charging and Finishing."""
    await cp.send(status(1, "Preparing"))
    started = await cp.send(call.StartTransaction(connector_id=1, id_tag=tag, meter_start=meter_start,
                                                  timestamp=iso(now_utc())))
    tx = started.transaction_id
    await cp.send(status(1, "Charging"))
    t0 = time.monotonic()
    await cp.send(call.MeterValues(connector_id=1, transaction_id=tx, meter_value=[{
        "timestamp": iso(now_utc()), "sampled_value": [
            {"value": str(meter_start + wh // 2), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
            {"value": "7.4", "measurand": "Power.Active.Import", "unit": "kW"}]}]))
    await asyncio.sleep(charge_seconds)
    await cp.send(status(1, "Finishing"))
    elapsed = time.monotonic() - t0
    await cp.send(call.StopTransaction(meter_stop=meter_start + wh, timestamp=iso(now_utc()), transaction_id=tx,
                                       reason="EVDisconnected", id_tag=tag))
    await cp.send(status(1, "Available"))
    return tx, elapsed


def test_a_month_of_two_priced_sessions_in_json_csv_and_xlsx_and_nothing_for_others(runner):
    org_a, org_b = unique("brf-rep-a").lower(), unique("brf-rep-b").lower()
    runner.api_ok("POST", "/organisations", org_body(org_a), status=201)
    runner.api_ok("POST", "/organisations", org_body(org_b), status=201)
    key_a, key_b = admin_key_of(runner, org_a), admin_key_of(runner, org_b)

    site = unique("garage").lower()
    runner.api_ok("POST", "/sites", {"id": site, "name": "Garaget",
                                     "address": {"street": "Solvägen 3", "postalCode": "123 45", "city": "Solna"}},
                  status=201, key=key_a)
    station = unique("CP-REP")
    runner.api_ok("POST", "/stations", {"id": station, "siteId": site, "password": PASSWORD}, status=201,
                  key=key_a)
    tag = unique("TAG-R")[:20]
    runner.api_ok("POST", "/id-tokens", {"idToken": tag, "type": "ISO14443", "status": "Accepted"}, status=201,
                  key=key_a)
    tariff = runner.api_ok("POST", "/tariffs", {"name": "Flat", "elements": [{"components": [
        {"type": "energy", "price": {"kind": "fixed", "perKwh": "2.50"}},
        {"type": "sessionFee", "price": "5"}]}]}, status=201, key=key_a)
    runner.api_ok("POST", "/tariff-assignments",
                  {"tariffId": tariff["id"], "target": {"kind": "station", "id": station}}, status=201, key=key_a)

    async def drive():
        async with charger(runner, station, "1.6", password=PASSWORD) as cp:
            await cp.send(call.BootNotification(charge_point_vendor="Acme", charge_point_model="Report-16"))
            await cp.send(status(1, "Available"))
            first = await session(cp, tag, 10_000, 6_000, 2.0)
            second = await session(cp, tag, 16_000, 2_500, 1.0)
            return first, second

    (tx1, s1), (tx2, s2) = run(drive())
    listed = runner.api_ok("GET", "/sessions", params={"stationId": station}, key=key_a)["items"]
    by_tx = {str(s["transactionId"]): s["id"] for s in listed}
    session_ids = [by_tx[str(tx)] for tx in (tx1, tx2)]

    def price(sid):
        r = runner.api("GET", f"/sessions/{quote(sid)}/price", key=key_a)
        return r.json() if r.status_code == 200 else None

    prices = [poll(lambda sid=sid: price(sid), timeout=10, what=f"{sid} priced") for sid in session_ids]
    gross = sum(Decimal(p["gross"]) for p in prices)
    net = sum(Decimal(p["net"]) for p in prices)
    vat = sum(Decimal(p["vat"]) for p in prices)
    # 6 kWh × 2.50 + 5 and 2.5 kWh × 2.50 + 5, net; VAT 25 %.
    assert net == Decimal("31.25"), prices

    today = datetime.now(STOCKHOLM).date()
    span = {"from": (today - timedelta(days=1)).isoformat(), "to": (today + timedelta(days=1)).isoformat()}

    def report(**params):
        return runner.api_ok("GET", "/reports/usage", params=span | params, key=key_a)

    # The price reaches the report through the event bus right after it is written.
    def with_revenue():
        r = report(groupBy="evse")
        return r if r["total"]["revenue"] else None

    rep = poll(with_revenue, timeout=10, what="revenue in the report")
    assert [(r["stationId"], r["evseId"], r["siteId"]) for r in rep["rows"]] == [(station, 1, site)], rep["rows"]
    total = rep["total"]
    assert total["sessions"] == 2, total
    assert Decimal(total["energyKwh"]) == Decimal("8.5"), total
    assert total["revenue"] == [{"currency": "SEK", "net": str(net), "vat": str(vat), "gross": str(gross)}], total
    charging = s1 + s2
    assert abs(total["chargingSeconds"] - charging) <= 1.0, (total, charging)
    assert total["occupiedSeconds"] >= total["chargingSeconds"], total
    assert abs(total["idleSeconds"] - (total["occupiedSeconds"] - total["chargingSeconds"])) <= 1, total
    assert Decimal(total["peakPowerKw"]) == Decimal("7.4"), total
    # Never faulted; since the charger disconnected its EVSE counts as offline (not available).
    assert total["faults"] == 0 and total["unavailableSeconds"] == 0, total
    # (Only the few seconds since it disconnected are not available.)
    assert Decimal(50) < Decimal(total["availabilityPercent"]) <= 100, total
    assert rep["timeZone"] == "Europe/Stockholm" and rep["groupBy"] == "evse"
    assert len(rep["hoursOfWeek"]) == 168
    assert rep["previous"]["sessions"] == 0
    sessions_change = next(c for c in rep["changes"] if c["figure"] == "sessions")
    assert (sessions_change["current"], sessions_change["previous"], sessions_change["percent"]) == ("2", "0", None)
    # The month of today holds the same (asked by period).
    month = runner.api_ok("GET", "/reports/usage", params={"period": today.strftime("%Y-%m"), "groupBy": "month"},
                          key=key_a)
    assert month["rows"][0]["month"] == today.strftime("%Y-%m") and month["total"]["sessions"] == 2, month

    # CSV: the same figures, one line per group, then the totals.
    r = runner.api("GET", "/reports/usage", params=span | {"groupBy": "evse"}, key=key_a,
                   headers={"Accept": "text/csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv"), r.text[:300]
    lines = list(csv.DictReader(io.StringIO(r.text)))
    assert [l["row"] for l in lines] == ["group", "total", "previousTotal"], lines
    group = lines[0]
    assert (group["stationId"], group["evseId"], group["sessions"]) == (station, "1", "2"), group
    assert Decimal(group["energyKwh"]) == Decimal("8.5")
    assert Decimal(group["revenueGrossSEK"]) == gross and Decimal(group["revenueNetSEK"]) == net
    assert int(group["chargingSeconds"]) == total["chargingSeconds"]

    # XLSX: one sheet per grouping with typed cells, the change and the hours of the week.
    r = runner.api("GET", "/reports/usage", params=span | {"groupBy": "evse", "format": "xlsx"}, key=key_a)
    assert r.status_code == 200, r.text[:300]
    assert r.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    book = openpyxl.load_workbook(io.BytesIO(r.content))
    assert book.sheetnames == ["By evse", "By site", "By station", "By month", "Change", "Hours of week"]
    rows = list(book["By evse"].iter_rows(values_only=True))
    head, cells = rows[0], dict(zip(rows[0], rows[1]))
    assert "sessions" in head and cells["row"] == "group", rows[:2]
    assert cells["sessions"] == 2 and cells["evseId"] == 1
    assert Decimal(str(cells["energyKwh"])) == Decimal("8.5")
    assert Decimal(str(cells["revenueGrossSEK"])) == gross
    assert cells["chargingSeconds"] == total["chargingSeconds"]
    by_site = dict(zip(*list(book["By site"].iter_rows(values_only=True))[:2]))
    assert (by_site["siteId"], by_site["sessions"]) == (site, 2)

    # Another organisation: nothing of it, and A's site and station are not found.
    other = runner.api_ok("GET", "/reports/usage", params=span, key=key_b)
    assert other["rows"] == [] and other["total"]["sessions"] == 0 and other["total"]["revenue"] == [], other
    assert_error(runner.api("GET", "/reports/usage", params=span | {"stationId": station}, key=key_b), 404)
    assert_error(runner.api("GET", "/reports/usage", params=span | {"siteId": site}, key=key_b), 404)
    # Bad input names the parameter.
    err = assert_error(runner.api("GET", "/reports/usage", params=span | {"groupBy": "tenant"}, key=key_a), 400)
    assert err["message"].startswith("groupBy:"), err
    err = assert_error(runner.api("GET", "/reports/usage", params={"period": "2026-13"}, key=key_a), 400)
    assert err["message"].startswith("period:"), err
