"""The device driver interface every Interface B adapter implements.

A driver reads a device's state and applies a power setpoint. Both are coroutines; the caller
bounds them with a timeout and treats :class:`DeviceUnavailableError` (or a timeout) as "the device
did not answer": the plan goes on, the setpoint is retried with backoff and the device is
reported offline. Sign convention: positive power flows into the device from the home
(charging, heating); negative power flows out (battery discharge, PV generation). The state and
setpoint types are :mod:`kernel.devices`'s.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from kernel.devices import DeviceState, DeviceUnavailableError, Setpoint

# The state, setpoint and error live in kernel.devices (hems uses them too); they are exported
# here as well, so a driver imports all it needs from this one module.
__all__ = ["DeviceDriver", "DeviceState", "DeviceUnavailableError", "Setpoint"]


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
