"""The device driver interface every Interface B adapter implements.

A driver reads a device's state and applies a power setpoint. Both are coroutines; the caller
bounds them with a timeout and treats :class:`DeviceUnavailableError` (or a timeout) as "the device
did not answer": the plan goes on, the setpoint is retried with backoff and the device is
reported offline. Sign convention: positive power flows into the device from the home
(charging, heating); negative power flows out (battery discharge, PV generation).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable


class DeviceUnavailableError(Exception):
    """The device did not answer or refused the request."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceState:
    """What a device reports.

    Attributes:
        at_utc: when the state was read (UTC).
        power_kw: power now [kW], signed as in the module docstring.
        soc: state of charge [0-1] (battery, EV), else None.
        temperature_c: indoor temperature [°C] (heat pump), else None.
        plugged_in: for an EV charger, whether a car is connected; else None.
        manual_override: the consumer overrode the device locally (reported to the DSRSP).
    """

    at_utc: datetime
    power_kw: float
    soc: float | None = None
    temperature_c: float | None = None
    plugged_in: bool | None = None
    manual_override: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Setpoint:
    """A power to hold [kW] (signed as in the module docstring) until the next setpoint.

    Attributes:
        power_kw: the power to hold [kW].
        follow_site: for a battery, a battery inverter's self-consumption mode instead of a
            power to hold: it discharges to cover the rest of the home's net load and charges
            from the home's net surplus, so it neither exports nor imports on its own.
            ``power_kw`` is then the cap in the plan's direction (``|power_kw|`` for a discharge
            when < 0, for a charge when > 0); the other direction, and both when it is 0, are
            capped by the battery's own power limits. Other devices ignore it.
    """

    power_kw: float
    follow_site: bool = False


@runtime_checkable
class DeviceDriver(Protocol):
    """One device behind one protocol."""

    name: str

    async def read_state(self) -> DeviceState:
        """The device's state now; raises :class:`DeviceUnavailableError`."""
        ...

    async def apply(self, setpoint: Setpoint) -> None:
        """Ask the device to hold ``setpoint``; raises :class:`DeviceUnavailableError`."""
        ...
