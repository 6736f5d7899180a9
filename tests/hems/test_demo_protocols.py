"""``hems run --demo --devices protocols``: the demo home's EV, battery and PV behind OCPP and
Modbus/SunSpec simulators that the service starts as child processes and stops with itself;
the service plans and drives them through the real drivers."""

from __future__ import annotations

import asyncio
import time

import pytest
from typer.testing import CliRunner

from hems.cli import app
from hems.demo_protocols import CHARGER
from hems.runtime import build_runtime, start_devices, stop_devices
from hems.settings import Settings
from kernel.devices import DeviceUnavailableError


def test_the_demo_home_runs_its_devices_over_their_protocols(tmp_path):
    settings = Settings(
        state_dir=tmp_path,
        demo=True,
        demo_devices="protocols",
        planner_processes=0,
        replan_delay_s=0.0,
        horizon_hours=12,
    )
    runtime = build_runtime(settings)
    assert runtime.demo_protocols is not None
    assert runtime.devices is not None
    home_id = next(iter(runtime.simulations))

    async def run() -> None:
        await start_devices(runtime)
        try:
            csms = runtime.devices.csms
            assert csms is not None
            deadline = time.monotonic() + 30
            while csms.live(CHARGER).info is None:  # the charge point connects and boots
                assert time.monotonic() < deadline, "the demo charge point did not boot"
                await asyncio.sleep(0.1)
            ctl = runtime.service.controller(home_id)
            if runtime.demo_protocols.mqtt:  # the heat pump's first state on the broker
                heat_pump = ctl.drivers["Heat pump"]
                while True:
                    try:
                        await heat_pump.read_state()
                        break
                    except DeviceUnavailableError:
                        assert time.monotonic() < deadline, "the heat pump did not report"
                        await asyncio.sleep(0.1)
            await runtime.service.cycle_all()
            await runtime.service.settle()
            ctl = runtime.service.controller(home_id)
            kinds = {n: type(d).__name__ for n, d in ctl.drivers.items()}
            assert kinds["EV"] == "OcppChargerDriver"
            assert kinds["Battery"] == "SunSpecBatteryDriver"
            assert kinds["PV"] == "SunSpecPvDriver"
            mqtt = runtime.demo_protocols.mqtt
            assert kinds["Heat pump"] == ("MqttDeviceDriver" if mqtt else "SimulatedHeatPump")
            assert all(ctl.health[n].online for n in ("EV", "Battery", "PV", "Heat pump"))
            assert ctl.states["PV"].power_kw == pytest.approx(-1.5, abs=0.05)
            assert runtime.store.last_applied_setpoint(home_id, "Battery") is not None
        finally:
            processes = list(runtime.demo_protocols.processes)
            await stop_devices(runtime)
            runtime.service.close()
        assert len(processes) == (5 if runtime.demo_protocols.mqtt else 3)
        assert all(p.poll() is not None for p in processes)  # stopped with the service

    asyncio.run(run())


def test_an_unknown_devices_mode_is_refused_by_name(tmp_path, monkeypatch):
    monkeypatch.setenv("HEMS_STATE_DIR", str(tmp_path))
    answer = CliRunner().invoke(app, ["run", "--demo", "--devices", "zigbee", "--no-dsrsp"])
    assert answer.exit_code == 2
    assert "demo_devices" in answer.output
