"""The time grid: equal slots in UTC, the one grid the planner, the forecasts and the adapters
share.

Everything the optimiser plans, the forecasts predict and the adapters fetch lies on one grid
of equal slots that start at a UTC instant.
UTC has no clock changes, so a slot is always ``step_minutes`` long; the UK's clock changes only
matter when a grid is laid over a *local* day, which :meth:`TimeGrid.for_local_day` does (a
30-minute grid over a clock-change day has 46 or 50 slots).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import pandas as pd

from kernel.errors import ProblemError

ALLOWED_STEPS_MINUTES: tuple[int, ...] = (5, 15, 30, 60)
UK_TIMEZONE = "Europe/London"


@dataclass(frozen=True, slots=True, kw_only=True)
class TimeGrid:
    """``n_steps`` slots of ``step_minutes`` starting at ``start_utc``.

    Attributes:
        start_utc: start of the first slot, timezone-aware; stored in UTC. It must sit on a
            multiple of the step (a 30-minute grid starts on :00 or :30).
        step_minutes: slot length [min]; one of 5, 15, 30, 60.
        n_steps: number of slots (48 h at 30 min = 96).
    """

    start_utc: datetime
    step_minutes: int = 30
    n_steps: int = 96

    def __post_init__(self) -> None:
        if self.start_utc.tzinfo is None:
            raise ProblemError("grid.start_utc", "must be timezone-aware (UTC)")
        object.__setattr__(self, "start_utc", self.start_utc.astimezone(UTC))
        if self.step_minutes not in ALLOWED_STEPS_MINUTES:
            raise ProblemError(
                "grid.step_minutes",
                f"must be one of {ALLOWED_STEPS_MINUTES}, got {self.step_minutes}",
            )
        if self.n_steps < 1:
            raise ProblemError("grid.n_steps", f"must be at least 1, got {self.n_steps}")
        seconds = self.start_utc.timestamp()
        if seconds % (self.step_minutes * 60) != 0:
            raise ProblemError(
                "grid.start_utc",
                f"{self.start_utc.isoformat()} is not on a {self.step_minutes}-minute boundary",
            )

    @classmethod
    def starting_at(
        cls, moment: datetime, *, step_minutes: int = 30, horizon_hours: float = 48.0
    ) -> TimeGrid:
        """The grid whose first slot contains ``moment`` (floored to the step), covering
        ``horizon_hours`` [h]."""
        if moment.tzinfo is None:
            raise ProblemError("moment", "must be timezone-aware")
        step_s = step_minutes * 60
        floored = datetime.fromtimestamp(math.floor(moment.timestamp() / step_s) * step_s, tz=UTC)
        n_steps = round(horizon_hours * 60 / step_minutes)
        return cls(start_utc=floored, step_minutes=step_minutes, n_steps=n_steps)

    @classmethod
    def for_local_day(
        cls, day: date, *, step_minutes: int = 30, timezone: str = UK_TIMEZONE
    ) -> TimeGrid:
        """The grid covering one local calendar day, midnight to midnight in ``timezone``.

        A 30-minute grid has 48 slots, 46 on the spring clock change and 50 in autumn.
        """
        tz = ZoneInfo(timezone)
        start = datetime.combine(day, time(0), tzinfo=tz)
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
        seconds = (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds()
        return cls(
            start_utc=start.astimezone(UTC),
            step_minutes=step_minutes,
            n_steps=round(seconds / (step_minutes * 60)),
        )

    @property
    def step_hours(self) -> float:
        """Slot length [h]."""
        return self.step_minutes / 60.0

    @property
    def end_utc(self) -> datetime:
        """End of the last slot (exclusive), UTC."""
        return self.start_utc + timedelta(minutes=self.step_minutes * self.n_steps)

    @property
    def index(self) -> pd.DatetimeIndex:
        """Slot start times, tz-aware UTC (a view of an index cached per grid: a caller may
        rename its copy without touching another's)."""
        return _slot_index(self.start_utc, self.step_minutes, self.n_steps).view()

    def local_index(self, timezone: str = UK_TIMEZONE) -> pd.DatetimeIndex:
        """Slot start times in local time (for people, never for computing)."""
        return self.index.tz_convert(timezone)

    def hours_from_start(self, moment: datetime) -> float:
        """Hours [h] from the grid start to ``moment`` (negative before the start)."""
        if moment.tzinfo is None:
            raise ProblemError("moment", "must be timezone-aware")
        return (moment - self.start_utc).total_seconds() / 3600.0

    def overlap_fractions(self, begin: datetime, end: datetime) -> list[float]:
        """Fraction (0-1) of each slot that lies inside ``[begin, end)``."""
        b = self.hours_from_start(begin)
        e = self.hours_from_start(end)
        dt = self.step_hours
        out: list[float] = []
        for t in range(self.n_steps):
            lo, hi = t * dt, (t + 1) * dt
            out.append(max(0.0, min(hi, e) - max(lo, b)) / dt)
        return out

    def slot_start(self, t: int) -> datetime:
        """Start of slot ``t`` (UTC)."""
        return self.start_utc + timedelta(minutes=self.step_minutes * t)


def grid_index(grid: TimeGrid) -> pd.DatetimeIndex:
    """Slot start times of ``grid``, tz-aware UTC in nanoseconds, named ``slot_start_utc``: the
    index of every series the forecasts and the adapters put on the grid (a view of an index
    cached per grid: a forecast asks for it half a dozen times, ~0.3 ms each to build)."""
    return slot_starts_utc(grid.start_utc, grid.step_minutes, grid.n_steps).view()


@lru_cache(maxsize=64)
def slot_starts_utc(start_utc: datetime, step_minutes: int, n_steps: int) -> pd.DatetimeIndex:
    """:func:`grid_index` of the grid these three fields describe (cached and shared: take a
    ``.view()`` before renaming it)."""
    return pd.date_range(
        pd.Timestamp(start_utc).tz_convert("UTC"),
        periods=n_steps,
        freq=f"{step_minutes}min",
        name="slot_start_utc",
    ).as_unit("ns")


@lru_cache(maxsize=64)
def _slot_index(start_utc: datetime, step_minutes: int, n_steps: int) -> pd.DatetimeIndex:
    """A grid's slot starts; cached because a plan asks for them a dozen times (pandas builds
    a date range in ~0.5 ms)."""
    return pd.date_range(start_utc, periods=n_steps, freq=f"{step_minutes}min", name="slot_start")
