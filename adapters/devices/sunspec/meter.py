"""The site meter over SunSpec: an AC meter model (201-204) at the home's grid connection.

Its ``W`` is taken as the site's net power, positive when the home imports (the meter's own
convention for a grid meter; the project's ``grid_kw``), and ``TotWhImp`` / ``TotWhExp`` as
the energy imported and exported.
"""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.devices.driver import DeviceState, DeviceUnavailableError, Setpoint
from adapters.devices.sunspec.device import SunSpecDevice
from adapters.devices.sunspec.discovery import METERS, SunSpecMap
from adapters.devices.sunspec.link import ModbusLink
from kernel.devices import MeterReading


class SunSpecMeterDriver:
    """A SunSpec meter at ``host``:``port`` (Modbus TCP, unit ``unit_id``). It implements
    :class:`~adapters.devices.driver.DeviceDriver` so the service polls it like any device
    (``power_kw`` is the site's import); it takes no setpoints."""

    def __init__(
        self, name: str, host: str, port: int = 502, *, unit_id: int = 1, timeout_s: float = 2.0
    ):
        self.name = name
        self.device = SunSpecDevice(ModbusLink(host, port, unit_id=unit_id, timeout_s=timeout_s))

    async def connect(self) -> SunSpecMap:
        """Discover the device and check it has a meter model."""
        await self.device.require("a site meter", ("meter", METERS))
        return await self.device.sunspec_map()

    async def read_meter(self) -> MeterReading:
        """Power and energy counters now."""
        (meter,) = await self.device.require("a site meter", ("meter", METERS))
        block = await self.device.read_model(meter)
        w = block.value("W")
        if w is None:
            raise DeviceUnavailableError(f"{self.device.link.where}: the meter reports no W")
        imported = block.value("TotWhImp")
        exported = block.value("TotWhExp")
        return MeterReading(
            at_utc=datetime.now(UTC),
            grid_kw=w / 1000,
            import_kwh=None if imported is None else imported / 1000,
            export_kwh=None if exported is None else exported / 1000,
        )

    async def read_state(self) -> DeviceState:
        """The site's net power as a device state (positive importing)."""
        reading = await self.read_meter()
        return DeviceState(at_utc=reading.at_utc, power_kw=reading.grid_kw)

    async def apply(self, setpoint: Setpoint) -> None:
        """A meter takes no setpoint: nothing is written."""

    async def close(self) -> None:
        """Close the connection (the next call opens it again)."""
        await self.device.close()
