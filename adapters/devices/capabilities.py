"""A device's reported capabilities, checked before anyone plans with them.

Each driver reads what its protocol reports (a SunSpec nameplate, an OCPP charger's
configuration, an S2 system description, an MQTT device's ``capabilities`` message) and builds
:class:`~kernel.devices.DeviceCapabilities` through :func:`reported_capabilities`: a value that
cannot be a home device's (not a number, zero or negative, beyond any home device) is logged
once as a warning naming the device and dropped, so the consumer's own value stays in force and
a device's garbage never reaches the optimiser.
"""

from __future__ import annotations

import logging
import math
from typing import Protocol, TypeVar, runtime_checkable

from kernel.devices import DeviceCapabilities

log = logging.getLogger(__name__)

N = TypeVar("N", int, float)

MAX_POWER_KW = 500.0
"""More than any home device (a 3-phase 100 A supply is ~70 kW): a larger power is garbage."""
MAX_CAPACITY_KWH = 2000.0
"""More than any home battery [kWh]."""
MAX_CURRENT_A = 100.0
"""More than any home supply's current per phase [A]."""

_BOUNDS = {
    "max_charge_kw": MAX_POWER_KW,
    "max_discharge_kw": MAX_POWER_KW,
    "max_power_kw": MAX_POWER_KW,
    "capacity_kwh": MAX_CAPACITY_KWH,
    "min_current_a": MAX_CURRENT_A,
}


@runtime_checkable
class ReportsCapabilities(Protocol):
    """A driver that can say what its device reports it can do."""

    async def capabilities(self) -> DeviceCapabilities | None:
        """What the device reported (None: nothing yet, e.g. not connected); raises
        :class:`~kernel.devices.DeviceUnavailableError` when it must be asked and does not
        answer."""
        ...


def _plausible(device: str, field: str, value: float | int) -> bool:
    if field == "phases":
        ok = isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 3
    else:
        ok = (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
            and 0 < value <= _BOUNDS[field]
        )
    if not ok:
        log.warning(
            "device %s reported an implausible %s (%r), ignored: the consumer's value is kept",
            device,
            field,
            value,
        )
    return ok


def reported_capabilities(
    device: str,
    *,
    max_charge_kw: float | None = None,
    max_discharge_kw: float | None = None,
    max_power_kw: float | None = None,
    capacity_kwh: float | None = None,
    phases: int | None = None,
    min_current_a: float | None = None,
) -> DeviceCapabilities:
    """The capabilities ``device`` reported, each implausible one logged and left None:
    powers in (0, 500] kW, capacity in (0, 2000] kWh, phases 1-3, current in (0, 100] A."""

    def kept(field: str, value: N | None) -> N | None:
        return value if value is not None and _plausible(device, field, value) else None

    return DeviceCapabilities(
        max_charge_kw=kept("max_charge_kw", max_charge_kw),
        max_discharge_kw=kept("max_discharge_kw", max_discharge_kw),
        max_power_kw=kept("max_power_kw", max_power_kw),
        capacity_kwh=kept("capacity_kwh", capacity_kwh),
        phases=kept("phases", phases),
        min_current_a=kept("min_current_a", min_current_a),
    )
