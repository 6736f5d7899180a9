"""What a SunSpec battery or PV inverter reports it can do, read from the test server process:
the nameplate becomes the device's capabilities, and a nameplate of nonsense (a zero charge
limit, a scale factor that makes a megawatt inverter) is logged and left out, never raised."""

from __future__ import annotations

import asyncio
import logging

import pytest

from adapters.devices.sunspec import SunSpecBatteryDriver, SunSpecPvDriver
from kernel.devices import DeviceCapabilities
from tests.adapters.devices.sunspec_peer import running_peer


async def read_capabilities(
    driver_type: type[SunSpecBatteryDriver | SunSpecPvDriver], name: str, port: int
) -> DeviceCapabilities:
    """The capabilities a new driver reads from the peer on ``port``; the driver closed after."""
    driver = driver_type(name, "127.0.0.1", port)
    try:
        return await driver.capabilities()
    finally:
        await driver.close()


def test_a_battery_reports_its_limits_and_capacity() -> None:
    with running_peer("--battery-802") as peer:
        caps = asyncio.run(read_capabilities(SunSpecBatteryDriver, "battery", peer.port))
    # WChaMax 500 x 10^1 W, model 121's WMax 4600 W, model 802's WHRtg 1000 x 10^1 Wh
    assert caps == DeviceCapabilities(
        max_charge_kw=5.0, max_discharge_kw=4.6, capacity_kwh=pytest.approx(10.0)
    )


def test_a_pv_inverter_reports_its_rating() -> None:
    with running_peer("--pv") as peer:
        assert asyncio.run(
            read_capabilities(SunSpecPvDriver, "pv", peer.port)
        ) == DeviceCapabilities(max_power_kw=4.0)


def test_a_nameplate_of_nonsense_is_logged_and_left_out(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    # WChaMax 0 W; model 121's WMax 4600 x 10^9 W; the capacity still sound
    with running_peer("--battery-802", "--wcha-max-w", "0", "--wmax-sf", "9") as peer:
        caps = asyncio.run(read_capabilities(SunSpecBatteryDriver, "battery", peer.port))
    assert caps == DeviceCapabilities(capacity_kwh=pytest.approx(10.0))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("max_charge_kw (0.0)" in w for w in warnings), warnings
    assert any("max_discharge_kw (4600000000.0)" in w for w in warnings), warnings
