"""The documented fallback when a source is down: the last known pattern.

When live data is missing or too old, the planner may choose to plan on the *last known pattern*:
each slot takes the most recent cached value at the same UK local time of day (``period_days=1``)
or the same local time of the same weekday (``period_days=7``). Local time because the patterns
that matter follow people's clocks (Agile's 16:00-19:00 peak, the evening demand peak); on a
clock-change day a missing local time (01:00-02:00 in spring) takes the nearest known time of day.

This is a choice for the planner, never a silent substitute: :func:`cached_or_pattern` reports
which slots came from the pattern and how old the data behind them is, and raises the typed
errors of :mod:`adapters.cache` when the caller does not allow the fallback.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from adapters.cache import SeriesCache
from adapters.errors import DataMissingError, StaleDataError
from kernel.timegrid import UK_TIMEZONE, TimeGrid, grid_index


@dataclass(frozen=True, slots=True)
class SeriesOnGrid:
    """A series on the planner's grid with where its values came from.

    Attributes:
        series: values on the grid, tz-aware UTC index, units in the name.
        from_pattern: True for slots filled by the last known pattern.
        fetched_at_utc: when the data behind it was fetched.
        age: age of that fetch at the time of the request.
    """

    series: pd.Series
    from_pattern: pd.Series
    fetched_at_utc: datetime
    age: timedelta


def _slot_keys(index: pd.DatetimeIndex, period_days: int, timezone: str) -> np.ndarray:
    local = index.tz_convert(timezone)
    minutes = np.asarray(local.hour * 60 + local.minute, dtype=np.int64)
    if period_days == 7:
        minutes = minutes + 1440 * np.asarray(local.day_of_week, dtype=np.int64)
    return minutes


def last_known_pattern(
    history: pd.Series,
    grid: TimeGrid,
    *,
    period_days: int = 1,
    timezone: str = UK_TIMEZONE,
) -> pd.Series:
    """Each slot of ``grid`` takes the newest value of ``history`` at the same local time of day
    (``period_days=1``) or of week (``period_days=7``).

    Raises:
        ValueError: ``period_days`` is not 1 or 7.
        DataMissingError: ``history`` holds no value at all.
    """
    if period_days not in (1, 7):
        raise ValueError(f"period_days must be 1 or 7, got {period_days}")
    known = history.dropna().sort_index()
    if known.empty:
        raise DataMissingError(str(history.name))
    index = grid_index(grid)
    period = 1440 * period_days
    known_index = pd.DatetimeIndex(known.index)
    latest = pd.Series(known.to_numpy(), index=_slot_keys(known_index, period_days, timezone))
    latest = latest.groupby(level=0).last()
    keys = _slot_keys(index, period_days, timezone)
    values = latest.reindex(keys).to_numpy(dtype=np.float64, copy=True)
    missing = np.isnan(values)
    if missing.any():
        # nearest known time of the cycle, going round midnight (or the week)
        known_keys = latest.index.to_numpy()
        for i in np.flatnonzero(missing):
            distance = np.abs(known_keys - keys[i])
            distance = np.minimum(distance, period - distance)
            values[i] = latest.iloc[int(np.argmin(distance))]
    return pd.Series(values, index=index, name=history.name)


def cached_or_pattern(
    cache: SeriesCache,
    key: str,
    grid: TimeGrid,
    *,
    now_utc: datetime,
    max_age: timedelta,
    allow_pattern: bool = True,
    period_days: int = 1,
) -> SeriesOnGrid:
    """The cached values of ``key`` on ``grid``; slots the cache does not cover are filled from
    the last known pattern when ``allow_pattern`` (else left NaN).

    The age check comes first: data older than ``max_age`` raises :class:`StaleDataError` unless
    ``allow_pattern``. Cached values are kept even when old (a published price stays the price);
    the returned ``age`` lets the caller judge them.

    Raises:
        DataMissingError: nothing cached under ``key``.
        StaleDataError: too old and the pattern is not allowed.
    """
    cached = cache.load(key)
    age = cached.age(now_utc)
    if age > max_age and not allow_pattern:
        raise StaleDataError(key, age, max_age)
    on_grid = cached.on_grid(grid)
    use_pattern = on_grid.isna() & allow_pattern
    if use_pattern.any():
        history = cached.series[cached.series.index < pd.Timestamp(now_utc)]
        pattern = last_known_pattern(history, grid, period_days=period_days)
        on_grid = on_grid.where(~use_pattern, pattern)
    on_grid.name = cached.series.name
    return SeriesOnGrid(
        series=on_grid,
        from_pattern=use_pattern.rename("from_pattern"),
        fetched_at_utc=cached.fetched_at_utc,
        age=age,
    )
