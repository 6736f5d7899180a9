"""A site meter that is not SunSpec: a common Modbus energy meter (Eastron SDM120 / SDM630 and
meters with their map), read over Modbus TCP (directly or through an RS485 gateway).

These meters publish float32 values (big-endian words) in input registers (function 4): the
total active power [W] and the imported and exported active energy [kWh]. Which registers
is the meter's :class:`EnergyMeterMap`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from pymodbus.client import AsyncModbusTcpClient

from adapters.devices.driver import DeviceState, Setpoint
from adapters.devices.sunspec.link import ModbusLink
from adapters.devices.sunspec.models import GarbageValueError
from kernel.devices import MeterReading

FLOAT32 = AsyncModbusTcpClient.DATATYPE.FLOAT32


@dataclass(frozen=True, slots=True)
class EnergyMeterMap:
    """Where a meter keeps its readings (input registers, float32 each).

    Attributes:
        name: the meters it fits.
        power_w: total active power [W], positive importing.
        import_kwh: imported active energy [kWh]; ``export_kwh`` follows it.
    """

    name: str
    power_w: int
    import_kwh: int


SDM120 = EnergyMeterMap(name="Eastron SDM120 (single phase)", power_w=0x000C, import_kwh=0x0048)
SDM630 = EnergyMeterMap(name="Eastron SDM630 (three phase)", power_w=0x0034, import_kwh=0x0048)
METER_MAPS = {"sdm120": SDM120, "sdm630": SDM630}
"""The maps by the name a configuration gives."""


class ModbusEnergyMeterDriver:
    """A site meter with an :class:`EnergyMeterMap` at ``host``:``port`` (unit ``unit_id``),
    implementing :class:`~adapters.devices.driver.DeviceDriver` (``power_kw`` is the site's
    import; it takes no setpoints)."""

    def __init__(
        self,
        name: str,
        host: str,
        port: int = 502,
        *,
        meter_map: EnergyMeterMap = SDM630,
        unit_id: int = 1,
        timeout_s: float = 2.0,
    ):
        self.name = name
        self.meter_map = meter_map
        self.link = ModbusLink(host, port, unit_id=unit_id, timeout_s=timeout_s)

    async def read_meter(self) -> MeterReading:
        """Power and energy counters now; a value that is not a finite number is a
        :class:`GarbageValueError`."""
        power = await self.link.read(self.meter_map.power_w, 2, input_registers=True)
        energy = await self.link.read(self.meter_map.import_kwh, 4, input_registers=True)
        power_w = self._float("power", power)
        return MeterReading(
            at_utc=datetime.now(UTC),
            grid_kw=power_w / 1000,
            import_kwh=self._float("imported energy", energy[:2]),
            export_kwh=self._float("exported energy", energy[2:]),
        )

    def _float(self, what: str, registers: list[int]) -> float:
        value = AsyncModbusTcpClient.convert_from_registers(registers, FLOAT32)
        if not isinstance(value, float) or not math.isfinite(value):
            raise GarbageValueError(
                f"{self.link.where}: the {self.meter_map.name}'s {what} reads {value!r}"
            )
        return value

    async def read_state(self) -> DeviceState:
        """The site's net power as a device state (positive importing)."""
        reading = await self.read_meter()
        return DeviceState(at_utc=reading.at_utc, power_kw=reading.grid_kw)

    async def apply(self, setpoint: Setpoint) -> None:
        """A meter takes no setpoint: nothing is written."""

    async def close(self) -> None:
        """Close the connection (the next call opens it again)."""
        await self.link.close()
