"""The service drives a home's battery through S2: its resource manager (the simulated S2
battery, a separate process) connects to the service's S2 server with its token, the service
plans, the RM receives the setpoint and the plan's later steps as FRBC instructions; when the RM
goes away the battery is reported offline and planned around, and when it comes back it is
planned for again. The service keeps only the token's hash."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.devices.credentials import verify_secret
from hems.domain.connections import DeviceSettings, HomeDevices, S2Connection, S2Server
from hems.domain.devices import BatterySpec
from hems.domain.home import HomeSpec
from hems.runtime import Runtime, build_runtime, start_devices, stop_devices
from hems.settings import Settings
from tests.adapters.devices.s2_peer import (
    RESOURCE_ID,
    RM_ID,
    TOKEN,
    ResourceManagerProcess,
    resource_manager,
    until,
)

SERIAL = "CEM-S2"


def home_spec() -> HomeSpec:
    return HomeSpec(
        name="A home with an S2 battery",
        cem_manufacturer="Test",
        cem_serial=SERIAL,
        latitude=51.5,
        longitude=-0.1,
        region="C",
        devices=[BatterySpec(name="Battery", capacity_kwh=10, max_charge_kw=5, max_discharge_kw=5)],
    )


def settings_for(tmp_path: Path) -> Settings:
    """No delays or ramps; the S2 server on a free port; the RM paired with its token."""
    connection = S2Connection.model_validate(
        {"rm_id": RM_ID, "token": TOKEN, "resource_id": RESOURCE_ID}
    )
    devices = DeviceSettings(
        s2=S2Server(port=0, response_timeout_s=2.0, stale_after_s=2.0),
        homes={SERIAL: HomeDevices(devices={"Battery": connection})},
    )
    return Settings(
        state_dir=tmp_path,
        planner_processes=0,
        replan_delay_s=0.0,
        horizon_hours=12,
        battery_ramp_kw_per_min=0.0,
        device_timeout_s=3.0,
        device_retry_max=1,
        devices=devices,
    )


@asynccontextmanager
async def service_with_s2_battery(
    tmp_path: Path,
) -> AsyncIterator[tuple[Runtime, int, ResourceManagerProcess]]:
    """The runtime with the home registered, its devices started and the RM set up."""
    runtime = build_runtime(settings_for(tmp_path))
    home_id = runtime.store.create_home(home_spec(), datetime.now(UTC), "test")
    await start_devices(runtime)
    try:
        runtime.service.controller(home_id)
        assert runtime.devices is not None
        s2 = runtime.devices.s2
        assert s2 is not None
        args = ["--url", f"ws://127.0.0.1:{s2.port}/{RM_ID}", "--token", TOKEN, "--soc", "0.5"]
        async with resource_manager(args, tmp_path / "rm.log") as rm:
            await s2.wait_ready(RM_ID, timeout_s=15)
            yield runtime, home_id, rm
    finally:
        await stop_devices(runtime)
        await runtime.service.settle()
        runtime.service.close()


def test_the_service_plans_and_the_s2_battery_receives_the_plan(tmp_path: Path) -> None:
    async def run() -> None:
        async with service_with_s2_battery(tmp_path) as (runtime, home_id, rm):
            service, store = runtime.service, runtime.store
            assert runtime.devices is not None
            assert runtime.devices.s2 is not None
            token_hash = runtime.devices.s2.resource_manager(RM_ID).token_hash
            assert token_hash is not None
            assert TOKEN not in token_hash
            assert verify_secret(TOKEN, token_hash)
            await service.cycle_all()
            ctl = service.controller(home_id)
            assert ctl.health["Battery"].online
            plan = store.latest_plan(home_id)
            assert plan is not None
            assert "Battery.power_kw" in plan.schedule.columns
            setpoint = store.last_applied_setpoint(home_id, "Battery")
            assert setpoint is not None
            # the setpoint, then the plan's later steps, reach the RM as FRBC instructions
            await rm.wait_for("instruction", since=0)
            schedule = ctl.schedules["Battery"]
            assert schedule.steps
            await until(
                lambda: (
                    {e["execution_time"] for e in rm.of("instruction")}
                    >= {t.isoformat() for t, _ in schedule.after(datetime.now(UTC))}
                )
            )
            state = await ctl.drivers["Battery"].read_state()
            assert state.soc is not None
            listed = await runtime.devices.identity(home_id, "Battery")
            assert listed is not None
            assert (listed["manufacturer"], listed["serial"]) == ("Acme", "SN-0042")

    asyncio.run(run())


def test_an_s2_battery_that_goes_away_is_offline_and_planned_around(tmp_path: Path) -> None:
    async def run() -> None:
        async with service_with_s2_battery(tmp_path) as (runtime, home_id, rm):
            service, store = runtime.service, runtime.store
            await service.cycle_all()
            ctl = service.controller(home_id)
            assert ctl.health["Battery"].online
            rm.kill()  # the RM goes away without a word
            await until(lambda: runtime.devices is not None and not _connected(runtime))
            await service.read_all()
            assert not ctl.health["Battery"].online
            assert "not connected" in ctl.health["Battery"].last_error
            await service.replan_and_dispatch(home_id, "test")  # no exception
            plan = store.latest_plan(home_id)
            assert plan is not None
            assert "Battery.power_kw" not in plan.schedule.columns

    asyncio.run(run())


def test_an_s2_battery_that_reconnects_is_sent_the_plan_again(tmp_path: Path) -> None:
    async def run() -> None:
        async with service_with_s2_battery(tmp_path) as (runtime, home_id, rm):
            await runtime.service.cycle_all()
            await rm.wait_for("instruction", since=0)
            mark = rm.mark()
            rm.send("drop")  # it reconnects by itself, and has dropped the plan
            await rm.wait_for("connected", since=mark)
            # set up again: the service reads it, re-plans and sends the plan, unasked
            await rm.wait_for("instruction", since=mark, timeout_s=20)
            await runtime.service.settle()
            await runtime.service.read_all()
            assert runtime.service.controller(home_id).health["Battery"].online

    asyncio.run(run())


def _connected(runtime: Runtime) -> bool:
    assert runtime.devices is not None
    assert runtime.devices.s2 is not None
    return runtime.devices.s2.session(RM_ID) is not None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"rm_id": "a/b"}, "rm_id"),
        ({"rm_id": "rm", "token": "short"}, "16-256 characters"),
        ({"rm_id": "rm", "token_hash": TOKEN}, "not a scrypt hash"),
    ],
)
def test_a_bad_s2_connection_is_refused(fields: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        S2Connection.model_validate(fields)


def test_an_rm_is_paired_to_one_home_and_s2_drives_no_charger() -> None:
    rm = S2Connection(rm_id=RM_ID)
    with pytest.raises(ValueError, match=f"S2 rm_id {RM_ID} is paired twice"):
        DeviceSettings(
            homes={
                "A": HomeDevices(devices={"Battery": rm}),
                "B": HomeDevices(devices={"Battery": rm}),
            }
        )
