"""A PV inverter over SunSpec: inverter model (101-103 or 701) for its power, immediate
controls model 123 (``WMaxLimPct``) and settings model 121 (``WMax``) to curtail it.

A setpoint below zero caps generation at ``|power_kw|`` (as the simulated PV: -2 kW caps it
at 2 kW); zero or above lifts the cap. The cap is written with ``WMaxLimPct_RvrtTms``: an
inverter the CEM stops talking to lifts it after that timeout and generates what it can.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from adapters.devices.driver import DeviceState, DeviceUnavailableError, Setpoint
from adapters.devices.sunspec.battery import DEFAULT_REVERT_TIMEOUT_S, checked_revert_timeout_s
from adapters.devices.sunspec.device import SunSpecDevice
from adapters.devices.sunspec.discovery import CONTROLS, INVERTERS, SETTINGS, SunSpecMap
from adapters.devices.sunspec.errors import SunSpecMapError
from adapters.devices.sunspec.link import ModbusLink
from adapters.devices.sunspec.models import encode
from adapters.devices.sunspec.nameplate import pv_capabilities
from kernel.devices import DeviceCapabilities

WMAXLIM_DISABLED = 0
WMAXLIM_ENABLED = 1


class SunSpecPvDriver:
    """A PV inverter at ``host``:``port`` (Modbus TCP, unit ``unit_id``), implementing
    :class:`~adapters.devices.driver.DeviceDriver`. It needs an inverter model; curtailing
    also needs models 121 and 123 (a cap sent to one without is refused with a
    :class:`SunSpecMapError`)."""

    def __init__(
        self,
        name: str,
        host: str,
        port: int = 502,
        *,
        unit_id: int = 1,
        timeout_s: float = 2.0,
        revert_timeout_s: int = DEFAULT_REVERT_TIMEOUT_S,
    ):
        self.name = name
        self.revert_timeout_s = checked_revert_timeout_s(revert_timeout_s)
        self.device = SunSpecDevice(ModbusLink(host, port, unit_id=unit_id, timeout_s=timeout_s))
        self._capabilities: DeviceCapabilities | None = None

    async def connect(self) -> SunSpecMap:
        """Discover the device and check it has an inverter model."""
        await self.device.require("a PV inverter", ("inverter", INVERTERS))
        return await self.device.sunspec_map()

    async def read_state(self) -> DeviceState:
        """The AC power, negative while generating."""
        (inverter,) = await self.device.require("a PV inverter", ("inverter", INVERTERS))
        w = (await self.device.read_model(inverter)).value("W")
        if w is None:
            raise DeviceUnavailableError(f"{self.device.link.where}: the inverter reports no W")
        return DeviceState(at_utc=datetime.now(UTC), power_kw=0.0 - w / 1000)

    async def apply(self, setpoint: Setpoint) -> None:
        """Cap generation at ``-setpoint.power_kw`` when it is negative, else lift the cap;
        the cap is read back. A power that is not a finite number is a ValueError."""
        if not math.isfinite(setpoint.power_kw):
            raise ValueError(f"{self.name}: {setpoint.power_kw} kW is not a finite power")
        cap_kw = -setpoint.power_kw if setpoint.power_kw < 0 else None
        controls = await self.device.optional((CONTROLS,))
        if controls is None:
            if cap_kw is None:
                return  # nothing to lift
            await self.device.require(
                "a curtailable PV inverter", ("immediate controls", (CONTROLS,))
            )
            return
        (settings,) = await self.device.require(
            "a curtailable PV inverter", ("settings", (SETTINGS,))
        )
        ctl = await self.device.read_model(controls)
        if cap_kw is None:
            registers = [WMAXLIM_DISABLED]
            first = "WMaxLim_Ena"
        else:
            w_max = (await self.device.read_model(settings)).value("WMax")
            if w_max is None or w_max <= 0:
                raise SunSpecMapError(f"{self.device.link.where}: model 121 reports no WMax")
            pct = min(max(100 * cap_kw * 1000 / w_max, 0.0), 100.0)
            try:
                limit = encode(ctl, "WMaxLimPct", pct)
            except ValueError as e:
                raise DeviceUnavailableError(f"{self.device.link.where}: {e}") from e
            # WMaxLimPct, its window, revert timeout and ramp [s], then enable
            registers = [*limit, 0, self.revert_timeout_s, 0, WMAXLIM_ENABLED]
            first = "WMaxLimPct"
        await self.device.write_points(controls, ctl, first, registers)
        back = await self.device.read_model(controls)
        start = back.definition.point(first).offset
        got = list(back.registers[start : start + len(registers)])
        if got != registers:
            raise DeviceUnavailableError(
                f"{self.device.link.where}: the inverter did not take the cap "
                f"{cap_kw} kW (wrote {registers}, read back {got})"
            )

    async def capabilities(self) -> DeviceCapabilities:
        """What the device reports it can do (model 121's ``WMax``), read on the first call
        and kept: a nameplate does not change while the service runs. Raises
        :class:`DeviceUnavailableError` when the device does not answer."""
        if self._capabilities is None:
            self._capabilities = await pv_capabilities(self.device, self.name)
        return self._capabilities

    async def close(self) -> None:
        """Close the connection (the next call opens it again)."""
        await self.device.close()
