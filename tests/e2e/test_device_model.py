"""Issue 14, point 4: the configuration of a 2.0.1 station is its device model. At every accepted boot the CSMS asks
for it (GetBaseReport, FullInventory); the station's NotifyReport parts become the model shown by
`GET /stations/{id}/device-model` once the last part (`tbc` false) is in; SetVariables and GetVariables answers
update values in it; `getConfiguration` without keys asks for a new report; an entry that breaks the schema is
dropped alone. A station that does not implement GetBaseReport is not bothered beyond that command failing."""

from __future__ import annotations

import asyncio

from ocpp.routing import after, on
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201

from csms_e2e import Charger201, connect_ws, iso, model_values, now_utc, poll, run, unique

CTRL = {"name": "OCPPCommCtrlr"}
EVSE1 = {"name": "EVSE", "evse": {"id": 1}}


def entry(component: dict, variable: str, value: str | None, **extra) -> dict:
    attribute = {"type": "Actual", "mutability": extra.pop("mutability", "ReadWrite")}
    if value is not None:
        attribute["value"] = value
    return {"component": component, "variable": {"name": variable}, "variable_attribute": [attribute], **extra}


# The station's first report, in two parts; the first part holds an entry whose component name is longer than the
# schema's 50 characters (dropped alone).
FIRST = [
    [entry(CTRL, "HeartbeatInterval", "300",
           variable_characteristics={"data_type": "integer", "unit": "s", "supports_monitoring": False}),
     entry({"name": "X" * 51}, "Broken", "1"),
     entry(EVSE1, "Power", "22000", mutability="ReadOnly",
           variable_characteristics={"data_type": "decimal", "unit": "W", "max_limit": 22000,
                                     "supports_monitoring": True})],
    [entry({"name": "Connector", "evse": {"id": 1, "connector_id": 1}}, "ConnectorType", "cType2",
           mutability="ReadOnly"),
     entry({"name": "SecurityCtrlr"}, "BasicAuthPassword", None, mutability="WriteOnly")],
]
# The second report: the station lost its connector entry and gained a clock variable.
SECOND = [
    [entry(CTRL, "HeartbeatInterval", "120")],
    [entry({"name": "ClockCtrlr"}, "TimeSource", "NTP")],
]


class Reporting(Charger201):
    """Answers GetBaseReport with Accepted, then sends its report in two parts; answers Get/SetVariables. The
    second part of a report waits for `release` when it is set up, so a test can look in between."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.reports: list[list[list[dict]]] = [FIRST, SECOND]
        self.request_ids: list[int] = []
        self.first_part_sent = asyncio.Event()
        self.release: asyncio.Event | None = None
        self.heartbeat = "300"

    @on("GetBaseReport")
    async def on_get_base_report(self, request_id, report_base, **kw):
        assert report_base == "FullInventory", report_base
        self.request_ids.append(request_id)
        return result201.GetBaseReport(status="Accepted")

    @after("GetBaseReport")
    async def after_get_base_report(self, request_id, **kw):
        parts = self.reports.pop(0) if self.reports else SECOND
        now = iso(now_utc())
        for seq_no, data in enumerate(parts):
            tbc = seq_no < len(parts) - 1
            if seq_no == 1:
                self.first_part_sent.set()
                if self.release is not None:
                    await self.release.wait()
            # The broken entry must reach the CSMS: the library would refuse to send it.
            await self.call(call201.NotifyReport(request_id=request_id, generated_at=now, seq_no=seq_no, tbc=tbc,
                                                 report_data=data), suppress=False, skip_schema_validation=True)

    @on("SetVariables")
    async def on_set_variables(self, set_variable_data, **kw):
        self.heartbeat = set_variable_data[0]["attribute_value"]
        return result201.SetVariables(set_variable_result=[{
            "attribute_status": "Accepted", "component": d["component"], "variable": d["variable"]}
            for d in set_variable_data])

    @on("GetVariables")
    async def on_get_variables(self, get_variable_data, **kw):
        return result201.GetVariables(get_variable_result=[{
            "attribute_status": "Accepted", "attribute_value": "45", "attribute_type": "Actual",
            "component": d["component"], "variable": d["variable"]} for d in get_variable_data])


async def connected(runner, station: str, cls=Reporting):
    ws = await connect_ws(runner.ws_url(station), ["ocpp2.0.1"])
    cp = cls(station, ws, response_timeout=10)
    task = asyncio.create_task(cp.start())
    boot = await cp.send(call201.BootNotification(charging_station={"vendor_name": "Acme", "model": "DM-1"},
                                                  reason="PowerUp"))
    assert boot.status == "Accepted", boot
    return ws, cp, task


async def disconnect(ws, task):
    task.cancel()
    try:
        await task
    except BaseException:
        pass
    await ws.close()


def command(runner, station: str, body: dict) -> dict:
    r = runner.api("POST", f"/stations/{station}/commands", body, params={"wait": 10})
    assert r.status_code == 200, f"{body} -> {r.status_code}: {r.text[:400]}"
    return r.json()


def test_the_device_model_is_reported_at_boot_updated_by_variables_and_renewed(runner):
    station = unique("DM201")
    runner.create_station(station)
    assert runner.device_model(station) is None, "no model before any report"

    async def scenario():
        ws, cp, task = await connected(runner, station)
        try:
            model = await asyncio.to_thread(
                poll, lambda: runner.device_model(station), timeout=10, what="the boot's device model")
            assert len(cp.request_ids) == 1, cp.request_ids
            assert model["requestId"] == cp.request_ids[0], model
            assert model["stationId"] == station
            assert model_values(model) == {
                ("OCPPCommCtrlr", None, None, "HeartbeatInterval"): {"Actual": "300"},
                ("EVSE", 1, None, "Power"): {"Actual": "22000"},
                ("Connector", 1, 1, "ConnectorType"): {"Actual": "cType2"},
                ("SecurityCtrlr", None, None, "BasicAuthPassword"): {"Actual": None},
            }, model
            assert model["variableCount"] == 4 and model["omitted"] == 0, model
            power = runner.device_model(station, component="evse", variable="POWER")
            assert power["variableCount"] == 1, power
            variable = power["components"][0]["variables"][0]
            assert variable["attributes"] == [{"type": "Actual", "value": "22000", "mutability": "ReadOnly",
                                               "persistent": False, "constant": False}], variable
            assert variable["characteristics"] == {"unit": "W", "dataType": "decimal", "minLimit": None,
                                                   "maxLimit": "22000", "valuesList": None,
                                                   "supportsMonitoring": True}, variable
            # The broken entry was dropped alone, and the drop is on record.
            events = runner.api_ok("GET", f"/stations/{station}/events")["items"]
            noted = [e for e in events if e["kind"] == "ImplausibleValues"]
            assert len(noted) == 1 and noted[0]["payload"]["action"] == "NotifyReport", events
            assert noted[0]["payload"]["values"][0]["field"] == "reportData/1", noted

            # SetVariables accepted: the model holds the new value.
            key = {"component": "OCPPCommCtrlr", "variable": "HeartbeatInterval"}
            cmd = await asyncio.to_thread(command, runner, station,
                                          {"type": "changeConfiguration", "key": key, "value": "120"})
            assert cmd["status"] == "accepted" and cmd["action"] == "SetVariables", cmd
            values = model_values(runner.device_model(station))
            assert values[("OCPPCommCtrlr", None, None, "HeartbeatInterval")] == {"Actual": "120"}, values
            # GetVariables accepted: the value read goes in too.
            cmd = await asyncio.to_thread(command, runner, station, {"type": "getConfiguration", "keys": [key]})
            assert cmd["status"] == "accepted" and cmd["action"] == "GetVariables", cmd
            values = model_values(runner.device_model(station))
            assert values[("OCPPCommCtrlr", None, None, "HeartbeatInterval")] == {"Actual": "45"}, values

            # getConfiguration without keys: a new report; the old model stays until its last part.
            cp.first_part_sent.clear()
            cp.release = asyncio.Event()
            cmd = await asyncio.to_thread(command, runner, station, {"type": "getConfiguration"})
            assert cmd["status"] == "accepted" and cmd["action"] == "GetBaseReport", cmd
            assert cmd["response"] == {"status": "Accepted"}, cmd
            await asyncio.wait_for(cp.first_part_sent.wait(), 10)
            await asyncio.sleep(0.3)  # the first part is answered and stored by now
            between = runner.device_model(station)
            assert between["requestId"] == model["requestId"] and between["variableCount"] == 4, between
            cp.release.set()
            renewed = await asyncio.to_thread(
                poll, lambda: (m := runner.device_model(station)) and m["requestId"] != model["requestId"] and m,
                timeout=10, what="the second report")
            assert renewed["requestId"] == cp.request_ids[1], (renewed, cp.request_ids)
            assert model_values(renewed) == {
                ("OCPPCommCtrlr", None, None, "HeartbeatInterval"): {"Actual": "120"},
                ("ClockCtrlr", None, None, "TimeSource"): {"Actual": "NTP"},
            }, renewed
        finally:
            await disconnect(ws, task)

    run(scenario())


def test_a_station_without_get_base_report_only_fails_that_command(runner):
    station = unique("DMNI")
    runner.create_station(station)

    async def scenario():
        # The library's charging station answers actions it has no handler for with NotImplemented.
        ws, cp, task = await connected(runner, station, cls=Charger201)
        try:
            def the_report_command():
                items = runner.api_ok("GET", f"/stations/{station}/commands")["items"]
                return [c for c in items if c["action"] == "GetBaseReport" and c["status"] != "pending"]
            done = await asyncio.to_thread(poll, the_report_command, timeout=10, what="the boot's report command")
            assert done[0]["status"] == "failed" and "NotImplemented" in done[0]["error"], done
            hb = await cp.send(call201.Heartbeat())
            assert hb.current_time, hb
            assert runner.device_model(station) is None
            view = runner.api_ok("GET", f"/stations/{station}")
            assert view["connected"] is True, view
        finally:
            await disconnect(ws, task)

    run(scenario())


def test_device_model_needs_a_known_station_and_sane_filters(runner):
    r = runner.api("GET", f"/stations/{unique('NOPE')}/device-model")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", r.text
    station = unique("DMQ")
    runner.create_station(station)
    r = runner.api("GET", f"/stations/{station}/device-model", params={"component": "c" * 51})
    assert r.status_code == 400 and "component" in r.json()["error"]["message"], r.text
    r = runner.api("GET", f"/stations/{station}/device-model", key=None)
    assert r.status_code == 401, r.text
