"""Faults between the SunSpec drivers and a device (the test server process): a Modbus
exception response, a device that does not answer in time, a device that goes away and comes
back. Each is a DeviceUnavailableError saying what happened, the driver keeps working once the
device does, and nothing crashes. Also the time from apply() to the setpoint written and read
back."""

from __future__ import annotations

import asyncio
import logging
import statistics
import time

import pytest

from adapters.devices.driver import DeviceUnavailableError, Setpoint
from adapters.devices.sunspec import ModbusExceptionError, SunSpecBatteryDriver
from tests.adapters.devices.sunspec_peer import SunSpecPeer, running_peer


def test_a_modbus_exception_is_reported_and_the_driver_recovers() -> None:
    async def run(peer: SunSpecPeer) -> None:
        driver = SunSpecBatteryDriver("battery", "127.0.0.1", peer.port)
        await driver.read_state()
        peer.send("fault exception 4")
        peer.state()  # the command has been taken
        with pytest.raises(ModbusExceptionError, match="Modbus exception 4") as failed:
            await driver.read_state()
        assert isinstance(failed.value, DeviceUnavailableError)
        assert failed.value.code == 4
        with pytest.raises(ModbusExceptionError, match="Modbus exception 4"):
            await driver.apply(Setpoint(power_kw=1.0))
        peer.send("fault none")
        peer.state()
        await driver.apply(Setpoint(power_kw=1.0))
        assert (await driver.read_state()).power_kw == pytest.approx(1.0)
        await driver.close()

    with running_peer() as peer:
        asyncio.run(run(peer))


def test_a_device_that_does_not_answer_times_out_and_the_driver_recovers() -> None:
    async def run(peer: SunSpecPeer) -> None:
        driver = SunSpecBatteryDriver("battery", "127.0.0.1", peer.port, timeout_s=0.3)
        await driver.read_state()
        peer.send("fault hang 2")
        peer.state()
        started = time.monotonic()
        with pytest.raises(DeviceUnavailableError, match="timeout"):
            await driver.read_state()
        assert time.monotonic() - started < 1.0
        peer.send("fault none")
        peer.state()
        await driver.apply(Setpoint(power_kw=-1.0))
        assert (await driver.read_state()).power_kw == pytest.approx(-1.0)
        await driver.close()

    with running_peer() as peer:
        asyncio.run(run(peer))


def test_a_device_that_goes_away_and_comes_back() -> None:
    async def run(peer: SunSpecPeer) -> None:
        driver = SunSpecBatteryDriver("battery", "127.0.0.1", peer.port, timeout_s=0.5)
        await driver.apply(Setpoint(power_kw=1.0))
        peer.stop()
        for _ in range(2):  # the connection is lost, then refused: both reported
            with pytest.raises(DeviceUnavailableError, match=f"127.0.0.1:{peer.port}"):
                await driver.read_state()
        peer.start()  # the same address: the driver reconnects on its own
        state = await driver.read_state()
        assert state.soc == pytest.approx(0.5, abs=0.01)
        await driver.apply(Setpoint(power_kw=2.0))
        assert (await driver.read_state()).power_kw == pytest.approx(2.0)
        await driver.close()

    with running_peer() as peer:
        asyncio.run(run(peer))


def test_apply_to_register_read_back_median_of_50() -> None:
    """apply() writes model 124 and reads it back before returning; its time is the time
    from the call to the setpoint stored on the device and confirmed."""

    async def run(peer: SunSpecPeer) -> float:
        driver = SunSpecBatteryDriver("battery", "127.0.0.1", peer.port)
        await driver.connect()
        times: list[float] = []
        for i in range(50):
            started = time.perf_counter()
            await driver.apply(Setpoint(power_kw=1.0 if i % 2 else -1.0))
            times.append(time.perf_counter() - started)
        await driver.close()
        return statistics.median(times)

    with running_peer() as peer:
        median_s = asyncio.run(run(peer))
    print(f"apply -> written and read back: median {median_s * 1000:.1f} ms of 50")
    assert median_s < 0.5


def test_a_call_the_service_gives_up_on_leaves_no_late_answer_behind() -> None:
    """The service bounds each call with its own timeout (asyncio.wait_for); the answer that
    arrives after it gave up must not be taken for the next request's (pymodbus discards it
    by its transaction id)."""

    async def run(peer: SunSpecPeer) -> None:
        driver = SunSpecBatteryDriver("battery", "127.0.0.1", peer.port, timeout_s=3.0)
        limits = await driver.read_limits()
        peer.send("fault hang 0.5")
        peer.state()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(driver.read_limits(), timeout=0.2)
        peer.send("fault none")
        peer.state()
        await asyncio.sleep(0.5)  # the late answer arrives
        assert await driver.read_limits() == limits
        state = await driver.read_state()
        assert state.soc == pytest.approx(0.5, abs=0.01)
        await driver.close()

    with running_peer() as peer:
        asyncio.run(run(peer))


def test_one_warning_when_the_device_goes_away_and_a_line_when_it_is_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def run(peer: SunSpecPeer) -> None:
        driver = SunSpecBatteryDriver("battery", "127.0.0.1", peer.port, timeout_s=0.5)
        await driver.read_state()
        peer.stop()
        for _ in range(3):
            with pytest.raises(DeviceUnavailableError):
                await driver.read_state()
        peer.start()
        await driver.read_state()
        await driver.close()

    caplog.set_level(logging.INFO, logger="adapters.devices.sunspec")
    with running_peer() as peer:
        asyncio.run(run(peer))
    ours = [r for r in caplog.records if r.name.startswith("adapters.devices.sunspec")]
    assert [r.levelno for r in ours] == [logging.WARNING, logging.INFO]
    assert f"127.0.0.1:{peer.port}" in ours[0].getMessage()
    assert ours[1].getMessage().endswith("answering again")
