"""Small result types shared by the components and the plan: violations and per-asset results."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

import numpy as np

from kernel.timegrid import UK_TIMEZONE, TimeGrid
from optimiser.checks import FloatArray


class Wish(StrEnum):
    """The consumer's soft wishes. Physical limits are hard; these may be missed, with a reason."""

    EV_TARGET = "ev_target"
    COMFORT = "comfort"
    HOT_WATER = "hot_water"
    BATTERY_TARGET = "battery_target"
    BATTERY_BOUNDS = "battery_bounds"  # a battery that starts outside its SoC bounds
    APPLIANCE_RUN = "appliance_run"
    CHARGE_NOW = "charge_now"
    DSR = "dsr"
    IMPORT_LIMIT = "import_limit"


@dataclass(frozen=True, slots=True, kw_only=True)
class Violation:
    """A wish the plan does not meet: by how much, and why, in words a consumer reads.

    Attributes:
        wish: which kind of wish.
        asset: the asset's (or DSR event's) name.
        amount: how far the plan misses, in ``unit``.
        unit: ``"kWh"``, ``"K·h"``, ``"%"`` ...
        message: a sentence for the consumer, times in UK local time.
        start_utc / end_utc: when it happens.
    """

    wish: Wish
    asset: str
    amount: float
    unit: str
    message: str
    start_utc: datetime
    end_utc: datetime


def slot_violation(
    *,
    wish: Wish,
    asset: str,
    grid: TimeGrid,
    first: int,
    last: int,
    amount: float,
    unit: str,
    what: str,
    why: str,
) -> Violation:
    """A violation over slots ``first..last``: the message reads "<what>, <when>: <why>."."""
    start, end = grid.slot_start(first), grid.slot_start(last + 1)
    return Violation(
        wish=wish,
        asset=asset,
        amount=amount,
        unit=unit,
        message=f"{what}, {local_span(start, end)}: {why}.",
        start_utc=start,
        end_utc=end,
    )


SITE_CAUSE = re.compile(r"\[site cause (\d+)-(\d+)\]")
"""The placeholder :func:`site_cause` writes (slots ``first-last``)."""


def site_cause(first: int, last: int) -> str:
    """A placeholder for what held the whole site back over slots ``first..last`` (its import
    limit, a DSR request, or prices that made falling short the cheaper choice). An asset's
    simulation does not see the site's flows; :func:`optimiser.plan.assemble_plan`, which
    does, writes the cause in its place."""
    return f"[site cause {first}-{last}]"


@dataclass(slots=True)
class AssetResult:
    """What one asset contributes to a plan after simulation of its dispatch.

    ``draw_kw`` is the asset's net electrical draw per slot [kW] (positive = consumption);
    ``columns`` are its per-slot plan columns; ``cost_gbp`` maps cost names (e.g.
    ``"degradation"``) to GBP totals; ``penalty_gbp`` is the soft-wish penalty total;
    ``end_value_gbp`` the value of energy left at the end (batteries); ``curtailed_kwh`` the
    generation forecast but not used (PV).
    """

    draw_kw: FloatArray
    columns: dict[str, FloatArray] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)
    cost_gbp: dict[str, float] = field(default_factory=dict)
    penalty_gbp: float = 0.0
    totals: dict[str, float] = field(default_factory=dict)
    end_value_gbp: float = 0.0
    curtailed_kwh: float = 0.0


def local_hhmm(moment: datetime) -> str:
    """``HH:MM`` in UK local time, for consumer-facing messages."""
    return moment.astimezone(ZoneInfo(UK_TIMEZONE)).strftime("%H:%M")


def local_day_hhmm(moment: datetime) -> str:
    """``Ddd HH:MM`` in UK local time."""
    return moment.astimezone(ZoneInfo(UK_TIMEZONE)).strftime("%a %H:%M")


def local_span(start_utc: datetime, end_utc: datetime) -> str:
    """``Ddd HH:MM-HH:MM`` in UK local time (the end's day is shown when it differs)."""
    a, b = local_day_hhmm(start_utc), local_day_hhmm(end_utc)
    return f"{a}-{b[-5:]}" if a[:3] == b[:3] else f"{a} to {b}"


def runs(mask: FloatArray | np.ndarray) -> list[tuple[int, int]]:
    """Maximal runs of True in ``mask`` as ``(first, last)`` slot pairs (inclusive)."""
    out: list[tuple[int, int]] = []
    start = -1
    for t, flag in enumerate(np.asarray(mask, dtype=bool)):
        if flag and start < 0:
            start = t
        elif not flag and start >= 0:
            out.append((start, t - 1))
            start = -1
    if start >= 0:
        out.append((start, len(mask) - 1))
    return out
