"""What a home delivered in a DSR event against what was asked, from its site meter's readings
(the telemetry the service keeps under ``(site meter)``, :mod:`hems.measured_load`).

The measured power is the mean of the readings from the event's start to its end (or now,
while it runs), positive importing. Delivered, within :data:`TOLERANCE_KW`:

=============  =============================================
IMPORT_CAP     mean import <= the cap
EXPORT_FLOOR   mean export (-power) >= the floor
SETPOINT       |mean power - the setpoint| within the tolerance
REDUCTION      not judged here: its baseline is the plan's
=============  =============================================

No readings (no site meter, or none yet): nothing is judged (None).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from kernel.dsr import DsrKind

TOLERANCE_KW = 0.1
"""A site within this of what was asked, on average, delivered it [kW]."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One home's response to one event."""

    readings: int
    measured_kw: float | None
    """Mean site power over the event so far (positive importing); None without readings."""
    delivered: bool | None
    """Whether the mean met the request (None: not judged, see the module)."""
    shortfall_kw: float | None
    """How far the mean missed the request (0 when delivered; None when not judged)."""


def delivery(
    kind: str,
    value_kw: float,
    start: datetime,
    end: datetime,
    readings: Sequence[tuple[datetime, float]],
    now: datetime,
) -> Delivery:
    """The home's response to an event from its site meter's ``(time, kW)`` readings."""
    until = min(end, now)
    inside = [kw for at, kw in readings if start <= at < until]
    if not inside:
        return Delivery(readings=0, measured_kw=None, delivered=None, shortfall_kw=None)
    mean = sum(inside) / len(inside)
    miss: float | None
    match DsrKind(kind) if kind in DsrKind._value2member_map_ else None:
        case DsrKind.IMPORT_CAP:
            miss = max(0.0, mean - value_kw)
        case DsrKind.EXPORT_FLOOR:
            miss = max(0.0, value_kw - (-mean))
        case DsrKind.SETPOINT:
            miss = abs(mean - value_kw)
        case _:
            miss = None
    return Delivery(
        readings=len(inside),
        measured_kw=mean,
        delivered=None if miss is None else miss <= TOLERANCE_KW,
        shortfall_kw=None if miss is None else (0.0 if miss <= TOLERANCE_KW else miss),
    )
