"""The slot grid as the forecasters see it, and the one rule they all keep: no look-ahead.

The grid is :class:`kernel.TimeGrid` (the optimiser plans on the same type); this module adds
the forecasters' views of it: local days and minutes, same-slot tables.

:func:`known_at` is how every forecaster cuts its history: a slot's measured value (energy over
the slot, an actual intensity) is known once the slot has *ended*, so only slots ending at or
before the issue time are kept. The same-slot patterns apply that rule through
:class:`KnownSlotTable`, which masks a whole-history table at each issue time.
"""

from __future__ import annotations

import threading
import weakref
from datetime import datetime
from functools import lru_cache

import numpy as np
import pandas as pd

from kernel.timegrid import UK_TIMEZONE, TimeGrid, slot_starts_utc


def grid_local_day_and_minute(grid: TimeGrid) -> tuple[np.ndarray, np.ndarray]:
    """:func:`local_day_and_minute` of ``grid``'s slot starts (read-only arrays, cached per
    grid like :func:`kernel.timegrid.grid_index`)."""
    return _grid_local(grid.start_utc, grid.step_minutes, grid.n_steps)


@lru_cache(maxsize=64)
def _grid_local(
    start_utc: datetime, step_minutes: int, n_steps: int
) -> tuple[np.ndarray, np.ndarray]:
    day, minute = local_day_and_minute(slot_starts_utc(start_utc, step_minutes, n_steps))
    day.setflags(write=False)
    minute.setflags(write=False)
    return day, minute


def known_at(history: pd.Series, issued_at_utc: datetime, *, step_minutes: int = 30) -> pd.Series:
    """The part of ``history`` (indexed by slot start) known at ``issued_at_utc``: slots that
    ended at or before it, sorted, without NaN."""
    if issued_at_utc.tzinfo is None:
        raise ValueError("issued_at_utc must be timezone-aware")
    index = _datetime_index(history.index)
    if index.tz is None:
        raise ValueError("history must have a tz-aware index")
    if not index.is_monotonic_increasing:
        history = history.sort_index()
        index = _datetime_index(history.index)
    last_start = pd.Timestamp(issued_at_utc) - pd.Timedelta(minutes=step_minutes)
    end = int(index.searchsorted(last_start, side="right"))
    return history.iloc[:end].dropna()


def _datetime_index(index: pd.Index) -> pd.DatetimeIndex:
    """``index`` itself when it is a DatetimeIndex: a copy would lose pandas' cached
    monotonicity flag, which costs a scan of a year-long index to rebuild."""
    return index if isinstance(index, pd.DatetimeIndex) else pd.DatetimeIndex(index)


def _ns(index: pd.DatetimeIndex) -> np.ndarray:
    """The index as int64 nanoseconds: itself when in ns, else converted once per index
    object (the loaders' year-long histories are in other units)."""
    if index.unit == "ns":
        return index.asi8
    key = id(index)
    with _CACHE_LOCK:
        hit = _NS_CACHE.get(key)
    if hit is not None and hit[0]() is index:
        return hit[1]
    out = index.as_unit("ns").asi8
    with _CACHE_LOCK:
        if len(_NS_CACHE) >= _NS_CACHE_MAX:
            _NS_CACHE.clear()
        _NS_CACHE[key] = (weakref.ref(index), out)
    return out


_CACHE_LOCK = threading.Lock()
_NS_CACHE: dict[int, tuple[weakref.ref[pd.DatetimeIndex], np.ndarray]] = {}
_NS_CACHE_MAX = 64


def values_on(series: pd.Series, index: pd.DatetimeIndex) -> np.ndarray:
    """``series``'s values at exactly the times of ``index`` (NaN where it has none), as
    ``series.reindex(index)`` but by binary search on a sorted, tz-aware index: forecasters
    call this every plan on histories a year long, where ``reindex`` built a hash table of
    the whole index each time."""
    source = _datetime_index(series.index)
    if len(source) == 0:
        return np.full(len(index), np.nan)
    if not source.is_monotonic_increasing or source.tz is None or index.tz is None:
        return series.reindex(index).to_numpy(dtype=np.float64)
    source_ns = _ns(source)
    wanted_ns = _ns(index)
    pos = np.searchsorted(source_ns, wanted_ns)
    clipped = np.minimum(pos, len(source_ns) - 1)
    out = series.to_numpy(dtype=np.float64)[clipped]
    out[source_ns[clipped] != wanted_ns] = np.nan
    return out


def before(history: pd.Series, until_utc: datetime) -> pd.Series:
    """The slots of a sorted ``history`` that start before ``until_utc``."""
    index = _datetime_index(history.index)
    return history.iloc[: int(index.searchsorted(pd.Timestamp(until_utc)))]


def recent(history: pd.Series, issued_at_utc: datetime, *, days: float) -> pd.Series:
    """The slots of a sorted ``history`` that start within ``days`` before ``issued_at_utc``
    (a cheap cut before :func:`known_at`)."""
    index = _datetime_index(history.index)
    first = int(index.searchsorted(pd.Timestamp(issued_at_utc) - pd.Timedelta(days=days)))
    return history.iloc[first:]


def local_day_and_minute(index: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """UK local calendar day (days since 1970-01-01) and minute of the local day of each time."""
    wall_ns = index.tz_convert(UK_TIMEZONE).tz_localize(None).as_unit("ns").asi8
    day_ns = 86_400 * 10**9
    return wall_ns // day_ns, (wall_ns % day_ns) // (60 * 10**9)


def _cells(
    day: np.ndarray, minute: np.ndarray, first_day: int, n_days: int, step_minutes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row, column and in-table flag of (local day, minute) pairs in a day x slot table
    starting on ``first_day``; minutes outside 0-1439 roll into the neighbouring day."""
    day, minute = np.broadcast_arrays(day, minute)
    day = day + np.floor_divide(minute, 1440)
    row = day - first_day
    return row, np.mod(minute, 1440) // step_minutes, (row >= 0) & (row < n_days)


class SlotTable:
    """Values looked up by (local day, local minute of day): "the same slot k days earlier"
    in wall-clock terms, right across clock changes (a slot that does not exist on one day is
    simply missing). A dense day x slot array, so lookups are plain indexing."""

    def __init__(self, series: pd.Series, *, step_minutes: int = 30) -> None:
        self._step = step_minutes
        self._slots = 1440 // step_minutes
        values = series.to_numpy(dtype=np.float64)
        if len(values) == 0:
            self._first_day = 0
            self._grid = np.full((0, self._slots), np.nan)
            return
        day, minute = local_day_and_minute(pd.DatetimeIndex(series.index))
        self._first_day = int(day.min())
        rows = day - self._first_day
        cols = minute // step_minutes
        total = np.zeros((int(rows.max()) + 1, self._slots))
        count = np.zeros_like(total)
        # autumn's repeated local hour: the two passes are averaged
        np.add.at(total, (rows, cols), values)
        np.add.at(count, (rows, cols), 1.0)
        with np.errstate(invalid="ignore"):
            self._grid = np.where(count > 0, total / np.maximum(count, 1.0), np.nan)

    def lookup(self, day: np.ndarray, minute: np.ndarray) -> np.ndarray:
        """Values at the given (local day, minute) pairs, arrays of any one shape; minutes
        outside 0-1439 roll over into the neighbouring day; NaN where unknown."""
        row, col, ok = _cells(day, minute, self._first_day, self._grid.shape[0], self._step)
        out = np.full(row.shape, np.nan)
        out[ok] = self._grid[row[ok], col[ok]]
        return out


class KnownSlotTable:
    """A whole history as a (local day x slot) table that also records when each value
    became known (its slot's end), so one table serves every issue time: a lookup
    ``known_by`` an instant returns what :func:`known_at` would have kept then, and NaN for
    the rest.

    The forecasters' per-issue cut (a recent window, :func:`known_at`, a :class:`SlotTable`
    of it) cost ~2.7 ms of a backtest's 13.8 ms forecast, issued every half hour over the
    same histories for a year; :func:`known_slot_table` builds this once per history.
    A cell holding both passes of autumn's repeated hour is their mean once both have
    ended and the first pass alone before, as the per-issue table was. That equality holds
    for one value per slot and pass (what the loaders produce: duplicates dropped, one
    series per step); a cell fed several values per pass (duplicated stamps, 15-minute data
    read at 30 minutes) gives its first value until all of them are known.
    """

    def __init__(self, series: pd.Series, *, step_minutes: int = 30) -> None:
        if not series.index.is_monotonic_increasing:
            series = series.sort_index()
        series = series.dropna()
        self._step = step_minutes
        self._slots = 1440 // step_minutes
        index = pd.DatetimeIndex(series.index)
        if len(index) and index.tz is None:
            raise ValueError("history must have a tz-aware index")
        values = series.to_numpy(dtype=np.float64)
        self._first_day = 0
        shape = (0, self._slots)
        cell = np.zeros(0, dtype=np.int64)
        end_ns = np.zeros(0, dtype=np.int64)
        if len(values):
            day, minute = local_day_and_minute(index)
            self._first_day = int(day.min())
            shape = (int(day.max()) - self._first_day + 1, self._slots)
            cell = (day - self._first_day) * self._slots + minute // step_minutes
            end_ns = index.as_unit("ns").asi8 + step_minutes * 60 * 10**9
        size = shape[0] * shape[1]
        total = np.bincount(cell, weights=values, minlength=size)
        count = np.bincount(cell, minlength=size).astype(np.float64)
        self._mean = np.full(size, np.nan)
        has = count > 0
        self._mean[has] = total[has] / count[has]
        never = np.iinfo(np.int64).max
        self._all_known_ns = np.full(size, np.iinfo(np.int64).min, dtype=np.int64)
        np.maximum.at(self._all_known_ns, cell, end_ns)
        self._all_known_ns[~has] = never
        # the earliest pass of each cell (the series is sorted, so its first occurrence)
        cells, first = np.unique(cell, return_index=True)
        self._first = np.full(size, np.nan)
        self._first[cells] = values[first]
        self._first_known_ns = np.full(size, never, dtype=np.int64)
        self._first_known_ns[cells] = end_ns[first]
        self._shape = shape

    def lookup(self, day: np.ndarray, minute: np.ndarray, known_by_utc: datetime) -> np.ndarray:
        """Values at (local day, minute) pairs known by ``known_by_utc`` (arrays of any one
        shape; minutes outside 0-1439 roll into the neighbouring day; NaN where unknown)."""
        if known_by_utc.tzinfo is None:
            raise ValueError("known_by_utc must be timezone-aware")
        row, col, ok = _cells(day, minute, self._first_day, self._shape[0], self._step)
        flat = row[ok] * self._slots + col[ok]
        cutoff = pd.Timestamp(known_by_utc).as_unit("ns").value
        picked = np.where(
            self._all_known_ns[flat] <= cutoff,
            self._mean[flat],
            np.where(self._first_known_ns[flat] <= cutoff, self._first[flat], np.nan),
        )
        out = np.full(row.shape, np.nan)
        out[ok] = picked
        return out


_KNOWN_TABLES: dict[tuple[int, int], tuple[weakref.ref[pd.Series], int, KnownSlotTable]] = {}
_KNOWN_TABLES_MAX = 32


def known_slot_table(history: pd.Series, *, step_minutes: int = 30) -> KnownSlotTable:
    """The :class:`KnownSlotTable` of ``history``, built once per series object and reused
    while that object lives (histories are not changed in place: the service and the
    backtests build a new series when data arrive)."""
    key = (id(history), step_minutes)
    with _CACHE_LOCK:  # the service forecasts for several homes in worker threads
        hit = _KNOWN_TABLES.get(key)
    if hit is not None and hit[0]() is history and hit[1] == len(history):
        return hit[2]
    table = KnownSlotTable(history, step_minutes=step_minutes)
    with _CACHE_LOCK:
        if len(_KNOWN_TABLES) >= _KNOWN_TABLES_MAX:
            dead = [k for k, (ref, _, _) in _KNOWN_TABLES.items() if ref() is None]
            for k in dead or list(_KNOWN_TABLES)[: _KNOWN_TABLES_MAX // 2]:
                _KNOWN_TABLES.pop(k, None)
        _KNOWN_TABLES[key] = (weakref.ref(history), len(history), table)
    return table
