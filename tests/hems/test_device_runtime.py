"""The service drives a home's real devices over their protocols: a charger over OCPP (the
simulated charge point, a separate process) and a battery inverter over Modbus / SunSpec (the
SunSpec server, a separate process), configured as in a settings file. The service plans, the
devices receive the setpoints, and a device that goes away is reported offline and planned
around, never a crash."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.devices.ocpp import limit_for
from hems.domain.connections import (
    CsmsServer,
    DeviceSettings,
    HomeDevices,
    ModbusConnection,
    OcppConnection,
)
from hems.domain.devices import BatterySpec, EvChargerSpec
from hems.domain.home import HomeSpec
from hems.runtime import Runtime, build_runtime, start_devices, stop_devices
from hems.settings import Settings
from tests.adapters.devices.ocpp_peer import ChargePointProcess, charge_point, peer_args
from tests.adapters.devices.sunspec_peer import SunSpecPeer, running_peer

SERIAL = "CEM-T1"


def home_spec() -> HomeSpec:
    return HomeSpec(
        name="A home with real devices",
        cem_manufacturer="Test",
        cem_serial=SERIAL,
        latitude=51.5,
        longitude=-0.1,
        region="C",
        devices=[
            EvChargerSpec(name="EV", vehicle_capacity_kwh=60, max_charge_kw=7.4),
            BatterySpec(name="Battery", capacity_kwh=10, max_charge_kw=5, max_discharge_kw=4.6),
        ],
    )


def settings_for(tmp_path: Path, battery_port: int, **overrides: object) -> Settings:
    """A service with no delays or ramps (setpoints go out at once), planning in a thread,
    with the home's charger on a CSMS on a free port and its battery on ``battery_port``."""
    devices = DeviceSettings(
        ocpp=CsmsServer(port=0, heartbeat_interval_s=1, stale_after_s=3.0),
        homes={
            SERIAL: HomeDevices(
                devices={
                    "EV": OcppConnection(identity="CP-1"),
                    "Battery": ModbusConnection(
                        role="battery", host="127.0.0.1", port=battery_port, timeout_s=1.0
                    ),
                }
            )
        },
    )
    fields: dict[str, object] = {
        "state_dir": tmp_path,
        "planner_processes": 0,
        "replan_delay_s": 0.0,
        "horizon_hours": 12,
        "ev_random_delay_max_s": 0,
        "ev_ramp_kw_per_min": 0.0,
        "battery_ramp_kw_per_min": 0.0,
        "device_timeout_s": 3.0,
        "device_retry_max": 1,
        "devices": devices,
    }
    return Settings(**(fields | overrides))  # type: ignore[arg-type]


@asynccontextmanager
async def service_with_devices(
    tmp_path: Path, battery: SunSpecPeer, *cp_args: str
) -> AsyncIterator[tuple[Runtime, int, ChargePointProcess]]:
    """The runtime with the home registered and its devices started, and the charge point
    connected and booted (OCPP 1.6, a car plugged in)."""
    runtime = build_runtime(settings_for(tmp_path, battery.port))
    home_id = runtime.store.create_home(home_spec(), datetime.now(UTC), "test")
    await start_devices(runtime)
    try:
        runtime.service.controller(home_id)  # the home registered while the service runs
        assert runtime.devices is not None
        assert runtime.devices.csms is not None
        args = peer_args(runtime.devices.csms, "1.6", "--plugged", *cp_args)
        async with charge_point(args, tmp_path / "cp.log") as cp:
            await cp.wait_for("booted", since=0)
            await cp.wait_for("tick", lambda e: e["transaction"] is not None, since=0)
            yield runtime, home_id, cp
    finally:
        await stop_devices(runtime)
        await runtime.service.settle()
        runtime.service.close()


@pytest.fixture
def battery():
    """A battery inverter on a site with a 1 kW load."""
    with running_peer("--load-w", "1000", "--pv-w", "0") as peer:
        yield peer


def test_the_service_plans_and_the_devices_receive_their_setpoints(tmp_path, battery):
    async def run() -> None:
        async with service_with_devices(tmp_path, battery) as (runtime, home_id, cp):
            service, store = runtime.service, runtime.store
            await service.cycle_all()
            ctl = service.controller(home_id)
            assert ctl.health["EV"].online
            assert ctl.health["Battery"].online
            assert store.latest_plan(home_id) is not None
            ev = store.last_applied_setpoint(home_id, "EV")
            bat = store.last_applied_setpoint(home_id, "Battery")
            assert ev is not None
            assert bat is not None
            # the charger holds the EV's setpoint as its profile's limit (A, one phase)
            assert runtime.devices is not None
            assert runtime.devices.csms is not None
            charger = runtime.devices.csms.charger("CP-1")
            profile = await cp.wait_for("profile", since=0)
            assert profile["accepted"]
            assert profile["periods"][0]["limit"] == limit_for(charger, ev.power_kw)
            # the battery inverter holds the window the battery's setpoint asks for
            truth = battery.state()
            assert truth["stor_ctl_mod"] == 3
            assert truth["rvrt_s"] == 300

    asyncio.run(run())


def test_a_device_that_goes_away_is_reported_offline_and_planned_around(tmp_path, battery):
    async def run() -> None:
        async with service_with_devices(tmp_path, battery) as (runtime, home_id, cp):
            service, store = runtime.service, runtime.store
            await service.cycle_all()
            plan = store.latest_plan(home_id)
            assert plan is not None
            assert "Battery.power_kw" in plan.schedule.columns
            battery.stop()  # the inverter goes away
            await service.read_all()
            ctl = service.controller(home_id)
            assert not ctl.health["Battery"].online
            assert "127.0.0.1" in ctl.health["Battery"].last_error
            await service.replan_and_dispatch(home_id, "test")  # no exception
            plan = store.latest_plan(home_id)
            assert plan is not None
            assert "Battery.power_kw" not in plan.schedule.columns
            assert ctl.health["EV"].online  # the charger goes on
            cp.send("drop")  # and then the charger goes away too
            await cp.wait_for("disconnected")
            await service.cycle_all()
            assert not ctl.health["EV"].online
            assert "not connected" in ctl.health["EV"].last_error

    asyncio.run(run())
