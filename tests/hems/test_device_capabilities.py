"""Initialisation: what a device reports it can do becomes the optimiser's device spec where it
is less than the consumer entered, and a mismatch is shown (the API's device listing, `hems
devices list`); it is stored, so a restarted service plans with it. Against the SunSpec test
server as a separate process; a device's nonsense is logged and the consumer's value kept."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from hems.cli_devices import mismatch_line
from hems.device_capabilities import capped_spec, mismatches
from hems.domain.connections import DeviceSettings, HomeDevices, ModbusConnection
from hems.domain.devices import BatterySpec, EvChargerSpec, HeatPumpSpec, PvSpec
from hems.problem_builder import build_problem
from hems.runtime import build_runtime, start_devices, stop_devices
from hems.settings import Settings
from hems.usecases.devices import registered_devices
from kernel.devices import DeviceCapabilities
from tests.adapters.devices.sunspec_peer import running_peer
from tests.hems.web.conftest import sign_in

from .test_device_runtime import home_spec

ENTERED = BatterySpec(name="Battery", capacity_kwh=13.5, max_charge_kw=8, max_discharge_kw=4.6)


def _settings(tmp_path, port: int) -> Settings:
    inverter = ModbusConnection(role="battery", host="127.0.0.1", port=port, timeout_s=1.0)
    devices = DeviceSettings(homes={"CEM-T1": HomeDevices(devices={"Battery": inverter})})
    return Settings(state_dir=tmp_path, planner_processes=0, devices=devices)


async def _read_and_plan(tmp_path, port: int):
    """Read the home's battery once, then the problem its plan would be made from, the
    API's listing of the battery and what the store keeps."""
    runtime = build_runtime(_settings(tmp_path, port))
    home = home_spec().model_copy(update={"devices": [ENTERED]})
    home_id = runtime.store.create_home(home, datetime.now(UTC), "test")
    await start_devices(runtime)
    try:
        assert runtime.devices is not None
        ctl = runtime.service.controller(home_id)
        await ctl.read_states()
        problem, _ = build_problem(ctl.plan_inputs(datetime.now(UTC), home))
        listed = await registered_devices(runtime.service, runtime.devices, home_id)
        return problem, listed, runtime.store.device_capabilities(home_id)
    finally:
        await stop_devices(runtime)
        runtime.service.close()


def test_a_battery_s_nameplate_caps_the_plan_and_the_mismatch_is_shown(tmp_path):
    with running_peer("--battery-802") as peer:
        problem, listed, stored = asyncio.run(_read_and_plan(tmp_path, peer.port))
    assert stored == {
        "Battery": {"max_charge_kw": 5.0, "max_discharge_kw": 4.6, "capacity_kwh": 10.0}
    }
    (battery,) = problem.batteries
    assert (battery.max_charge_kw, battery.max_discharge_kw, battery.capacity_kwh) == (
        5.0,
        4.6,
        10.0,
    )
    (listing,) = listed
    assert listing.capabilities == stored["Battery"]
    shown = [(m.field, m.entered, m.reported, m.planned) for m in listing.mismatches]
    assert shown == [("max_charge_kw", 8.0, 5.0, 5.0), ("capacity_kwh", 13.5, 10.0, 10.0)]
    line = mismatch_line("Battery", listing.mismatches[0].model_dump())
    assert line == (
        "Battery: maximum charge entered 8 kW, the device reports 5 kW: planned with 5 kW"
    )


def test_a_battery_reporting_nonsense_is_planned_as_entered(tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    with running_peer("--wcha-max-w", "0", "--wmax-sf", "9") as peer:
        problem, listed, stored = asyncio.run(_read_and_plan(tmp_path, peer.port))
    assert stored == {}
    (battery,) = problem.batteries
    assert (battery.max_charge_kw, battery.max_discharge_kw) == (8.0, 4.6)
    assert listed[0].mismatches == []
    assert any("implausible max_charge_kw" in r.getMessage() for r in caplog.records)


def test_a_limit_above_the_entered_one_leaves_the_consumer_s():
    caps = DeviceCapabilities(max_charge_kw=11.0, max_discharge_kw=4.0)
    planned = capped_spec(ENTERED, caps)
    assert isinstance(planned, BatterySpec)
    assert (planned.max_charge_kw, planned.max_discharge_kw) == (8.0, 4.0)
    assert [m.field for m in mismatches(ENTERED, caps)] == ["max_charge_kw", "max_discharge_kw"]
    # within 1 %: the same (rounding), no mismatch
    assert mismatches(ENTERED, DeviceCapabilities(max_charge_kw=8.04)) == []


def test_an_ev_charger_s_minimum_stays_below_its_reported_maximum_and_pv_gets_a_limit():
    ev = EvChargerSpec(name="EV", vehicle_capacity_kwh=60, min_charge_kw=1.4, max_charge_kw=7.4)
    planned = capped_spec(ev, DeviceCapabilities(max_charge_kw=1.2))
    assert isinstance(planned, EvChargerSpec)
    assert (planned.min_charge_kw, planned.max_charge_kw) == (1.2, 1.2)
    pv = PvSpec(name="PV", peak_kw=5.0)  # no inverter limit entered
    planned_pv = capped_spec(pv, DeviceCapabilities(max_power_kw=3.68))
    assert isinstance(planned_pv, PvSpec)
    assert planned_pv.inverter_limit_kw == 3.68
    (m,) = mismatches(pv, DeviceCapabilities(max_power_kw=3.68))
    assert (m.entered, m.planned) == (None, 3.68)
    assert mismatch_line("PV", m.model_dump()).startswith("PV: inverter limit not entered")


def test_a_heat_pump_s_minimum_power_stays_below_its_reported_maximum():
    hp = HeatPumpSpec(
        name="HP",
        max_power_kw=3.0,
        min_power_kw=1.0,
        heat_loss_kw_per_k=0.2,
        thermal_capacity_kwh_per_k=9.0,
    )
    planned = capped_spec(hp, DeviceCapabilities(max_power_kw=0.8))
    assert isinstance(planned, HeatPumpSpec)
    assert (planned.min_power_kw, planned.max_power_kw) == (0.8, 0.8)


def test_the_consumer_sees_the_mismatch_on_the_today_page_and_in_the_api(client, demo):
    demo.runtime.store.set_device_capabilities(demo.home_id, "Battery", {"max_charge_kw": 3.0})
    said = "maximum charge entered 5 kW, the device reports 3 kW: planned with 3 kW"
    states = client.get(f"/homes/{demo.home_id}/devices", headers=demo.auth()).json()
    battery = next(d for d in states if d["name"] == "Battery")
    assert [m["message"] for m in battery["mismatches"]] == [said]
    assert next(d for d in states if d["name"] == "EV")["mismatches"] == []
    sign_in(client, demo.home_token)
    today = client.get(f"/app/homes/{demo.home_id}").text
    assert f'<p class="warn mismatch">Battery: {said}.' in today
