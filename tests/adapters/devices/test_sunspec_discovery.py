"""Discovery of a SunSpec map over Modbus TCP against the test server process, and the maps a
driver refuses: not SunSpec, a chain that breaks off, a model shorter than its definition, a
device without the models the driver needs. Each is a clear SunSpecMapError (a
DeviceUnavailableError), never a crash."""

from __future__ import annotations

import asyncio

import pytest

from adapters.devices.driver import DeviceUnavailableError
from adapters.devices.sunspec import (
    SunSpecBatteryDriver,
    SunSpecMapError,
    SunSpecMeterDriver,
    SunSpecPvDriver,
)
from adapters.devices.sunspec.discovery import discover
from adapters.devices.sunspec.link import ModbusLink
from tests.adapters.devices.sunspec_peer import running_peer


@pytest.mark.parametrize("base", [40000, 0, 50000])
def test_discovery_finds_the_marker_and_walks_the_chain(base: int) -> None:
    async def run(port: int) -> None:
        link = ModbusLink("127.0.0.1", port)
        found = await discover(link)
        await link.close()
        assert found.base_address == base
        assert found.model_ids == (1, 103, 121, 124, 203)
        assert found.models[0].address == base + 2
        assert found.models[1].address == base + 2 + 2 + 66
        identity = found.identity
        assert (identity.manufacturer, identity.model, identity.serial, identity.version) == (
            "Acme Energy",
            "SimBattery 10",
            "SIM-0001",
            "1.2.3",
        )

    with running_peer("--base", str(base)) as peer:
        asyncio.run(run(peer.port))


def test_a_map_without_storage_is_refused_for_a_battery_and_served_as_pv() -> None:
    async def run(port: int) -> None:
        battery = SunSpecBatteryDriver("battery", "127.0.0.1", port)
        with pytest.raises(SunSpecMapError) as refused:
            await battery.connect()
        message = str(refused.value)
        assert "cannot serve as a battery" in message
        assert "no storage (124) model" in message
        assert "[1, 103, 121, 203]" in message
        with pytest.raises(SunSpecMapError):  # read_state and apply refuse it too
            await battery.read_state()
        await battery.close()
        pv = SunSpecPvDriver("pv", "127.0.0.1", port)
        assert (await pv.connect()).identity.serial == "SIM-0001"
        await pv.close()

    with running_peer("--no-storage") as peer:
        asyncio.run(run(peer.port))


def test_a_device_without_a_meter_model_is_refused_as_a_meter() -> None:
    async def run(port: int) -> None:
        meter = SunSpecMeterDriver("meter", "127.0.0.1", port)
        assert (await meter.connect()).first((203,)) is not None
        await meter.close()

    with running_peer() as peer:
        asyncio.run(run(peer.port))


def _refusal(*args: str) -> str:
    async def run(port: int) -> str:
        driver = SunSpecBatteryDriver("battery", "127.0.0.1", port)
        with pytest.raises(SunSpecMapError) as refused:
            await driver.read_state()
        await driver.close()
        assert isinstance(refused.value, DeviceUnavailableError)
        return str(refused.value)

    with running_peer(*args) as peer:
        return asyncio.run(run(peer.port))


def test_a_wrong_marker_is_not_sunspec() -> None:
    message = _refusal("--marker", "5375,6e54")
    assert "not a SunSpec device, no 'SunS' marker" in message
    assert "5375 6e54 at 40000" in message


def test_a_model_length_past_the_end_of_the_registers_is_refused() -> None:
    message = _refusal("--storage-length", "2000")
    assert "breaks off" in message
    assert "model 124 at 40154 (length 2000)" in message


def test_a_model_shorter_than_its_definition_is_refused() -> None:
    message = _refusal("--storage-length", "10")
    assert "model 124 at 40154 declares 10 registers, its definition has 24" in message


def test_a_scale_factor_outside_the_sunspec_range_is_garbage_not_a_reading() -> None:
    async def run(port: int) -> None:
        driver = SunSpecBatteryDriver("battery", "127.0.0.1", port)
        with pytest.raises(DeviceUnavailableError, match=r"model 103: W_SF = 100 is outside"):
            await driver.read_state()
        await driver.close()

    with running_peer("--w-sf", "100") as peer:
        asyncio.run(run(peer.port))
