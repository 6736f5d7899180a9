"""A plan's powers as a charging schedule: limits in the charger's unit, start offsets in s.

OCPP charging schedules are a start time and periods (``startPeriod`` seconds after it, each
limit held until the next period); the charger keeps following them on its own clock, which
is what carries the plan through a loss of communications.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from adapters.devices.ocpp.settings import ChargerSettings


@dataclass(frozen=True, slots=True)
class PlanStep:
    """From ``start_utc`` the charger may draw up to ``power_kw`` [kW] (until the next step)."""

    start_utc: datetime
    power_kw: float


@dataclass(frozen=True, slots=True)
class ChargingSchedule:
    """A version-neutral charging schedule.

    Attributes:
        start_utc: when period offsets count from (whole seconds, UTC).
        duration_s: how long the schedule lasts [s]; None: the last limit holds on.
        rate_unit: "A" or "W".
        periods: (start offset [s], limit in ``rate_unit``) pairs, offsets rising from 0.
        number_phases: the phases an ampere limit is per (None for watts).
    """

    start_utc: datetime
    duration_s: int | None
    rate_unit: str
    periods: tuple[tuple[int, float], ...]
    number_phases: int | None


def limit_for(charger: ChargerSettings, power_kw: float) -> float:
    """The limit to send for ``power_kw`` [kW]: clipped to [0, rated power]; in A, per phase,
    rounded down to 0.1 A and 0 below the minimum current a car accepts; in W, whole watts.

    Discharge (negative power, V2G) is not asked of a charger: it becomes 0.
    """
    power = min(max(power_kw, 0.0), charger.max_power_kw)
    if charger.rate_unit == "W":
        return float(math.floor(power * 1000.0))
    # (+1e-9: a float just under a whole tenth of an ampere is not rounded a tenth down)
    amps = math.floor(power * 1000.0 / (charger.voltage_v * charger.phases) * 10.0 + 1e-9) / 10.0
    return amps if amps >= charger.min_current_a else 0.0


def schedule_for(
    charger: ChargerSettings, steps: Sequence[PlanStep], end_utc: datetime | None = None
) -> ChargingSchedule:
    """The schedule that holds ``steps`` (in time order) until ``end_utc`` (None: open-ended).

    Raises:
        ValueError: no steps, steps out of order or not timezone-aware, or an end before the
            first step.
    """
    if not steps:
        raise ValueError("a charging schedule needs at least one step")
    if any(step.start_utc.tzinfo is None for step in steps):
        raise ValueError("plan steps need timezone-aware start times")
    start = steps[0].start_utc.astimezone(UTC).replace(microsecond=0)
    periods: list[tuple[int, float]] = []
    for step in steps:
        offset_s = math.floor((step.start_utc - start).total_seconds())
        if periods and offset_s <= periods[-1][0]:
            raise ValueError("plan steps must be in time order, at least 1 s apart")
        limit = limit_for(charger, step.power_kw)
        if periods and periods[-1][1] == limit:
            continue  # the same limit goes on: no new period
        periods.append((offset_s, limit))
    duration_s: int | None = None
    if end_utc is not None:
        if end_utc <= steps[-1].start_utc:
            raise ValueError("the schedule's end must come after its last step")
        duration_s = math.ceil((end_utc - start).total_seconds())
    return ChargingSchedule(
        start_utc=start,
        duration_s=duration_s,
        rate_unit=charger.rate_unit,
        periods=tuple(periods),
        number_phases=charger.phases if charger.rate_unit == "A" else None,
    )


def ocpp_time(moment: datetime) -> str:
    """An OCPP date-time: UTC, whole seconds, 'Z'."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
