"""The SunSpec PV driver (curtailment through model 123, lifted by the inverter after the
revert timeout) and the site meter driver (model 203: import and export power and energy)
against the test server process."""

from __future__ import annotations

import asyncio

import pytest

from adapters.devices.driver import DeviceDriver, Setpoint
from adapters.devices.sunspec import SunSpecMapError, SunSpecMeterDriver, SunSpecPvDriver
from tests.adapters.devices.sunspec_peer import running_peer


def test_pv_power_is_read_and_curtailed_and_the_cap_lifted() -> None:
    async def run(port: int) -> None:
        pv = SunSpecPvDriver("pv", "127.0.0.1", port)
        assert isinstance(pv, DeviceDriver)
        assert (await pv.read_state()).power_kw == pytest.approx(-3.5)
        await pv.apply(Setpoint(power_kw=-2.0))  # cap at 2 kW: 50 % of WMax 4 kW
        assert (await pv.read_state()).power_kw == pytest.approx(-2.0)
        await pv.apply(Setpoint(power_kw=0.0))
        assert (await pv.read_state()).power_kw == pytest.approx(-3.5)
        await pv.close()

    with running_peer("--pv", "--load-w", "500", "--pv-w", "3500") as peer:
        asyncio.run(run(peer.port))
        assert peer.state()["wmaxlim_ena"] == 0


def test_pv_curtailment_lapses_when_the_cem_stops_writing() -> None:
    async def run(port: int) -> None:
        pv = SunSpecPvDriver("pv", "127.0.0.1", port, revert_timeout_s=1)
        await pv.apply(Setpoint(power_kw=-1.0))
        assert (await pv.read_state()).power_kw == pytest.approx(-1.0)
        await asyncio.sleep(1.3)
        assert (await pv.read_state()).power_kw == pytest.approx(-3.5)
        await pv.close()

    with running_peer("--pv", "--pv-w", "3500") as peer:
        asyncio.run(run(peer.port))


def test_a_pv_inverter_without_controls_refuses_a_cap_but_reads() -> None:
    async def run(port: int) -> None:
        pv = SunSpecPvDriver("pv", "127.0.0.1", port)
        await pv.apply(Setpoint(power_kw=0.0))  # no cap to lift: nothing written
        with pytest.raises(SunSpecMapError, match=r"no immediate controls \(123\) model"):
            await pv.apply(Setpoint(power_kw=-1.0))
        assert (await pv.read_state()).power_kw == pytest.approx(0.0)
        await pv.close()

    with running_peer("--no-storage") as peer:
        asyncio.run(run(peer.port))


def test_the_meter_reads_import_and_export_power_and_energy() -> None:
    async def run(port: int) -> None:
        meter = SunSpecMeterDriver("meter", "127.0.0.1", port)
        assert isinstance(meter, DeviceDriver)
        first = await meter.read_meter()
        assert first.grid_kw == pytest.approx(1.5)
        assert (await meter.read_state()).power_kw == pytest.approx(1.5)
        await asyncio.sleep(0.5)  # half an hour at 3600x: 0.75 kWh imported
        second = await meter.read_meter()
        assert first.import_kwh is not None
        assert second.import_kwh is not None
        assert second.import_kwh - first.import_kwh == pytest.approx(0.75, abs=0.15)
        await meter.apply(Setpoint(power_kw=1.0))  # a meter takes no setpoint
        await meter.close()

    with running_peer("--no-storage", "--speed", "3600", "--load-w", "1500") as peer:
        asyncio.run(run(peer.port))
        peer.send("site 500 3000")
        peer.state()  # answered after the site command: it is in force (was a race under load)

        async def export(port: int) -> None:
            meter = SunSpecMeterDriver("meter", "127.0.0.1", port)
            first = await meter.read_meter()
            assert first.grid_kw == pytest.approx(-2.5)
            await asyncio.sleep(0.5)
            second = await meter.read_meter()
            assert first.export_kwh is not None
            assert second.export_kwh is not None
            assert second.export_kwh - first.export_kwh == pytest.approx(1.25, abs=0.25)
            assert second.import_kwh == first.import_kwh
            await meter.close()

        asyncio.run(export(peer.port))
