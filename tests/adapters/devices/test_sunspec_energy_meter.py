"""A site meter that is not SunSpec: an Eastron energy meter's float32 input registers served
by the test server process (``--eastron``), read by ModbusEnergyMeterDriver."""

from __future__ import annotations

import asyncio

import pytest

from adapters.devices.driver import DeviceDriver, DeviceUnavailableError, Setpoint
from adapters.devices.sunspec import METER_MAPS, ModbusEnergyMeterDriver
from tests.adapters.devices.sunspec_peer import running_peer


@pytest.mark.parametrize("model", ["sdm120", "sdm630"])
def test_power_and_energy_are_read(model: str) -> None:
    async def run(port: int) -> None:
        meter = ModbusEnergyMeterDriver("meter", "127.0.0.1", port, meter_map=METER_MAPS[model])
        assert isinstance(meter, DeviceDriver)
        first = await meter.read_meter()
        assert first.grid_kw == pytest.approx(-1.1)  # 0.4 kW load, 1.5 kW PV: exporting
        assert (await meter.read_state()).power_kw == pytest.approx(-1.1)
        await asyncio.sleep(0.5)  # half an hour at 3600x
        second = await meter.read_meter()
        assert first.export_kwh is not None
        assert second.export_kwh is not None
        assert second.export_kwh - first.export_kwh == pytest.approx(0.55, abs=0.12)
        assert second.import_kwh == first.import_kwh
        await meter.apply(Setpoint(power_kw=1.0))  # takes no setpoint
        await meter.close()

    args = ("--eastron", model, "--speed", "3600", "--load-w", "400", "--pv-w", "1500")
    with running_peer(*args) as peer:
        asyncio.run(run(peer.port))


def test_a_reading_that_is_not_a_number_is_garbage() -> None:
    async def run(port: int) -> None:
        meter = ModbusEnergyMeterDriver("meter", "127.0.0.1", port)
        with pytest.raises(
            DeviceUnavailableError, match=r"SDM630 \(three phase\)'s power reads nan"
        ):
            await meter.read_meter()
        await meter.close()

    with running_peer("--eastron", "sdm630", "--garbage-float") as peer:
        asyncio.run(run(peer.port))
