"""What an S2 resource manager's device can do, read from its FRBC.SystemDescription: against
the test RM (a separate process) for its powers and phases; a description of nonsense (a
gigawatt battery) is logged and left out; an energy fill level gives the capacity."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from adapters.devices.s2 import S2Cem, S2FrbcDriver
from adapters.devices.s2.frbc import system_capabilities
from kernel.devices import DeviceCapabilities
from tests.adapters.devices.s2_peer import RM_ID, cem_settings, resource_manager, rm_args
from tests.adapters.devices.s2_resource_manager import system_description


async def _reported(tmp_path: Path, *extra: str) -> DeviceCapabilities | None:
    async with S2Cem(cem_settings()) as cem:
        driver = S2FrbcDriver("battery", cem, RM_ID)
        assert await driver.capabilities() is None  # not set up yet
        async with resource_manager(rm_args(cem, *extra), tmp_path / "rm.log"):
            await cem.wait_ready(RM_ID, 10)
            return await driver.capabilities()


def test_an_rm_s_system_description_gives_its_powers_and_phases(tmp_path: Path) -> None:
    caps = asyncio.run(_reported(tmp_path, "--max-power-kw", "3.3"))
    assert caps == DeviceCapabilities(
        max_charge_kw=3.3, max_discharge_kw=3.3, max_power_kw=3.3, phases=3
    )


def test_a_gigawatt_battery_is_logged_and_left_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    caps = asyncio.run(_reported(tmp_path, "--max-power-kw", "1e6"))
    assert caps == DeviceCapabilities(phases=3)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(f"device {RM_ID} reported an implausible max_charge_kw" in w for w in warned)


def test_a_fill_level_in_kwh_is_the_capacity() -> None:
    description = system_description(5000.0)
    description.storage.fill_level_label = "kWh"
    description.storage.fill_level_range.end_of_range = 13.5
    assert system_capabilities(RM_ID, description).capacity_kwh == 13.5
    description.storage.fill_level_label = "%"  # not an energy: no capacity
    assert system_capabilities(RM_ID, description).capacity_kwh is None
