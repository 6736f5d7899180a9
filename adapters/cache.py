"""A small on-disk cache of time series (SQLite from the standard library).

Every successful fetch is stored under a key (``"octopus:agile:import:C"``,
``"carbon:national"``, ...): its values by slot start, and the time of the fetch. After a
restart or during an outage the planner reads the newest values back together with their age,
and chooses what to do when they are too old (:mod:`adapters.fallback`).

A newer fetch overwrites the slots it covers and keeps the older slots (a NaN never overwrites a
value), so the cache accumulates history that the pattern fallback and the forecasters can use.

Storage: one row per key holding the slot starts [ns since the epoch, UTC] and the values as
packed little-endian arrays. A row per slot was tried first; reading back a month of half-hours
then cost ~15 ms of Python object creation per series on this project's machine, against
microseconds for a blob. Writes (one per fetch) merge in pandas and rewrite the row in one
transaction.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from adapters.errors import DataMissingError, StaleDataError
from kernel.timegrid import TimeGrid, grid_index

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cached_series (
    key TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    fetched_at_ns INTEGER NOT NULL,
    slot_starts_ns BLOB NOT NULL,
    cached_values BLOB NOT NULL
);
"""
_TIMES = np.dtype("<i8")
_VALUES = np.dtype("<f8")


@dataclass(frozen=True, slots=True)
class CachedSeries:
    """A series read back from the cache.

    Attributes:
        key: cache key.
        series: every cached value by slot start (tz-aware UTC), named as when stored.
        fetched_at_utc: when the newest successful fetch happened.
    """

    key: str
    series: pd.Series
    fetched_at_utc: datetime

    def age(self, now_utc: datetime) -> timedelta:
        """How old the newest fetch is at ``now_utc``."""
        return now_utc - self.fetched_at_utc

    def on_grid(self, grid: TimeGrid) -> pd.Series:
        """The cached values at the slot starts of ``grid`` (NaN where none is cached)."""
        out = self.series.reindex(grid_index(grid))
        out.name = self.series.name
        return out


class SeriesCache:
    """Time series by key in one SQLite file (``":memory:"`` for tests).

    Reads are remembered in the process (per key and ``since_utc``) until the key is stored or
    pruned again, so a planner that re-plans every few minutes decodes each fetch once; the file
    is what survives a restart.
    """

    def __init__(self, path: Path | str) -> None:
        if isinstance(path, Path):
            path.parent.mkdir(parents=True, exist_ok=True)
        # One connection shared by the threads that refresh and read (a service fetches in a
        # worker thread and plans in another); the lock serialises its use.
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._lock = threading.RLock()
        self._db.executescript(_SCHEMA)
        self._memo: dict[tuple[str, int], CachedSeries] = {}

    def _forget(self, key: str) -> None:
        for memo_key in [k for k in self._memo if k[0] == key]:
            del self._memo[memo_key]

    def close(self) -> None:
        """Close the database file."""
        self._db.close()

    def _read(self, key: str) -> tuple[str, int, np.ndarray, np.ndarray] | None:
        row = self._db.execute(
            "SELECT name, fetched_at_ns, slot_starts_ns, cached_values FROM cached_series "
            "WHERE key = ?",
            (key,),
        ).fetchone()
        if row is None:
            return None
        times = np.frombuffer(row[2], dtype=_TIMES)
        values = np.frombuffer(row[3], dtype=_VALUES)
        return str(row[0]), int(row[1]), times, values

    def _write(
        self, key: str, name: str, fetched_at_ns: int, times: np.ndarray, values: np.ndarray
    ) -> None:
        self._db.execute(
            "INSERT INTO cached_series (key, name, fetched_at_ns, slot_starts_ns, cached_values) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET name = excluded.name, "
            "fetched_at_ns = excluded.fetched_at_ns, slot_starts_ns = excluded.slot_starts_ns, "
            "cached_values = excluded.cached_values",
            (
                key,
                name,
                fetched_at_ns,
                np.ascontiguousarray(times, dtype=_TIMES).tobytes(),
                np.ascontiguousarray(values, dtype=_VALUES).tobytes(),
            ),
        )

    def store(self, key: str, series: pd.Series, fetched_at_utc: datetime) -> None:
        """Merge ``series`` (tz-aware index) into ``key`` and record the fetch time.

        NaN values are not stored, so an unpublished slot never overwrites a known one.
        """
        if fetched_at_utc.tzinfo is None:
            raise ValueError("fetched_at_utc must be timezone-aware")
        index = pd.DatetimeIndex(series.index).tz_convert("UTC").as_unit("ns")
        new = pd.Series(series.to_numpy(dtype=np.float64), index=index.asi8).dropna()
        new = new[~new.index.duplicated(keep="last")]
        with self._lock, self._db:
            self._forget(key)
            old = self._read(key)
            if old is not None:
                kept = pd.Series(old[3], index=old[2])
                new = new.combine_first(kept)
            new = new.sort_index()
            self._write(
                key,
                str(series.name or key),
                pd.Timestamp(fetched_at_utc).value,
                new.index.to_numpy(dtype=np.int64),
                new.to_numpy(dtype=np.float64),
            )

    def load(self, key: str, *, since_utc: datetime | None = None) -> CachedSeries:
        """Everything cached under ``key`` (from ``since_utc`` on, when given: a forecaster
        needs weeks, not the whole history).

        Raises:
            DataMissingError: nothing was ever stored under ``key``.
        """
        since_ns = np.iinfo(np.int64).min if since_utc is None else pd.Timestamp(since_utc).value
        with self._lock:
            remembered = self._memo.get((key, since_ns))
            if remembered is not None:
                return remembered
            row = self._read(key)
        if row is None:
            raise DataMissingError(key)
        name, fetched_ns, times, values = row
        first = int(np.searchsorted(times, since_ns, side="left"))
        index = pd.DatetimeIndex(
            pd.to_datetime(times[first:], unit="ns", utc=True), name="slot_start_utc"
        )
        series = pd.Series(values[first:].copy(), index=index, name=name)
        fetched = pd.Timestamp(fetched_ns, unit="ns", tz=UTC).to_pydatetime()
        cached = CachedSeries(key=key, series=series, fetched_at_utc=fetched)
        with self._lock:
            self._memo[(key, since_ns)] = cached
        return cached

    def load_fresh(self, key: str, *, now_utc: datetime, max_age: timedelta) -> CachedSeries:
        """Like :meth:`load`, but refuse data whose newest fetch is older than ``max_age``.

        Raises:
            DataMissingError: nothing cached.
            StaleDataError: cached, but too old; the error carries the age.
        """
        cached = self.load(key)
        age = cached.age(now_utc)
        if age > max_age:
            raise StaleDataError(key, age, max_age)
        return cached

    def prune(self, key: str, *, before_utc: datetime) -> int:
        """Drop values of ``key`` whose slot starts before ``before_utc``; returns how many."""
        with self._lock, self._db:
            self._forget(key)
            row = self._read(key)
            if row is None:
                return 0
            name, fetched_ns, times, values = row
            first = int(np.searchsorted(times, pd.Timestamp(before_utc).value, side="left"))
            self._write(key, name, fetched_ns, times[first:], values[first:])
        return first

    def __enter__(self) -> SeriesCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def store_frame(
    cache: SeriesCache, prefix: str, frame: pd.DataFrame, fetched_at_utc: datetime
) -> None:
    """Store every column of ``frame`` under ``"{prefix}:{column}"`` (weather, intensity)."""
    for column in frame.columns:
        cache.store(f"{prefix}:{column}", frame[column], fetched_at_utc)


def load_frame(cache: SeriesCache, prefix: str, columns: list[str]) -> pd.DataFrame:
    """The columns stored by :func:`store_frame`, aligned on their common index.

    Raises:
        DataMissingError: a column was never stored.
    """
    return pd.DataFrame({c: cache.load(f"{prefix}:{c}").series for c in columns})
