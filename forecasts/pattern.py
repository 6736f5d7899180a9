"""Same-slot patterns from history: the building block of the price and carbon forecasts beyond
their published part, and of the temperature fallback.

A slot's pattern value is a statistic of the values at the same UK local time of day on earlier
days (or on the same weekday in earlier weeks), using only history known at the issue time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from forecasts.grid import grid_local_day_and_minute, known_slot_table, values_on
from forecasts.quantiles import column_quantiles
from kernel.timegrid import TimeGrid, grid_index


@dataclass(frozen=True, slots=True)
class MarketForecast:
    """A single-valued forecast with a flag per slot.

    Attributes:
        series: values on the grid, tz-aware UTC, units in the name.
        is_forecast: True where the value is a forecast, False where it was published (or
            otherwise known) at the issue time.
        issued_at_utc: the latest information used.
        method: a short description for logs and reports.
    """

    series: pd.Series
    is_forecast: pd.Series
    issued_at_utc: datetime
    method: str


def same_slot_values(
    history: pd.Series,
    grid: TimeGrid,
    issued_at_utc: datetime,
    *,
    lags_days: range,
    step_minutes: int = 30,
) -> np.ndarray:
    """Known values at the same local time of day ``lag`` days before each slot, one row per
    lag (NaN where unknown at ``issued_at_utc``: a slot's value is known once it has ended)."""
    table = known_slot_table(history, step_minutes=step_minutes)
    day, minute = grid_local_day_and_minute(grid)
    minute = (minute // step_minutes) * step_minutes
    lags = np.asarray(list(lags_days))[:, None]
    return table.lookup(day[None, :] - lags, minute[None, :], issued_at_utc)


def same_slot_median(
    history: pd.Series,
    grid: TimeGrid,
    issued_at_utc: datetime,
    *,
    days: int = 7,
    step_minutes: int = 30,
) -> np.ndarray:
    """Median of the same local slot over the last ``days`` days known at the issue time."""
    values = same_slot_values(
        history, grid, issued_at_utc, lags_days=range(1, days + 1), step_minutes=step_minutes
    )
    return np.asarray(column_quantiles(values, (0.5,))[0], dtype=np.float64)


def known_then_pattern(
    known: pd.Series | None,
    history: pd.Series,
    grid: TimeGrid,
    issued_at_utc: datetime,
    *,
    name: str,
    days: int = 7,
    step_minutes: int = 30,
    data_cutoff_utc: datetime | None = None,
) -> MarketForecast:
    """``known`` where it has a value, the same-slot median of ``history`` elsewhere; slots
    with neither take the nearest pattern value in time (then NaN only without any history).

    ``history`` slots are used once they have ended by ``data_cutoff_utc`` (default: the issue
    time); a later cut-off is for values published ahead of time, such as Agile prices.
    """
    index = grid_index(grid)
    given = np.full(len(index), np.nan) if known is None else values_on(known, index)
    cutoff = issued_at_utc if data_cutoff_utc is None else data_cutoff_utc
    pattern = same_slot_median(history, grid, cutoff, days=days, step_minutes=step_minutes)
    if np.isnan(pattern).any() and not np.isnan(pattern).all():
        pattern = pd.Series(pattern).interpolate(limit_direction="both").to_numpy()
    is_forecast = np.isnan(given)
    values = np.where(is_forecast, pattern, given)
    return MarketForecast(
        series=pd.Series(values, index=index, name=name),
        is_forecast=pd.Series(is_forecast, index=index, name="is_forecast"),
        issued_at_utc=issued_at_utc,
        method=f"published where known, else median of the same local slot over {days} days",
    )
