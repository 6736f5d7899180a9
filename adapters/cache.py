"""A small on-disk cache of time series (SQLite from the standard library).

Every successful fetch is stored under a key (``"octopus:agile:import:C"``,
``"carbon:national"``, ...): its values by slot start, and the time of the fetch. After a
restart or during an outage the planner reads the newest values back together with their age,
and chooses what to do when they are too old (:mod:`adapters.fallback`).

Values are upserted per (key, slot start): a newer fetch overwrites the slots it covers and keeps
the older slots, so the cache accumulates history that the pattern fallback and the forecasters
can use.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from adapters.errors import DataMissingError, StaleDataError
from adapters.slots import SlotGrid, grid_index

_SCHEMA = """
CREATE TABLE IF NOT EXISTS series_value (
    key TEXT NOT NULL,
    slot_start_ns INTEGER NOT NULL,
    value REAL,
    PRIMARY KEY (key, slot_start_ns)
);
CREATE TABLE IF NOT EXISTS series_fetch (
    key TEXT PRIMARY KEY,
    fetched_at_ns INTEGER NOT NULL,
    name TEXT NOT NULL
);
"""


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

    def on_grid(self, grid: SlotGrid) -> pd.Series:
        """The cached values at the slot starts of ``grid`` (NaN where none is cached)."""
        out = self.series.reindex(grid_index(grid))
        out.name = self.series.name
        return out


class SeriesCache:
    """Time series by key in one SQLite file (``":memory:"`` for tests).

    Reads are remembered in the process (per key and ``since_utc``) until the key is stored or
    pruned again, so a planner that re-plans every few minutes reads SQLite once per fetch;
    the file is what survives a restart.
    """

    def __init__(self, path: Path | str) -> None:
        if isinstance(path, Path):
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path))
        self._db.executescript(_SCHEMA)
        self._memo: dict[tuple[str, int], CachedSeries] = {}

    def _forget(self, key: str) -> None:
        for memo_key in [k for k in self._memo if k[0] == key]:
            del self._memo[memo_key]

    def close(self) -> None:
        """Close the database file."""
        self._db.close()

    def store(self, key: str, series: pd.Series, fetched_at_utc: datetime) -> None:
        """Upsert ``series`` (tz-aware index) under ``key`` and record the fetch time.

        NaN values are not stored, so an unpublished slot never overwrites a known one.
        """
        if fetched_at_utc.tzinfo is None:
            raise ValueError("fetched_at_utc must be timezone-aware")
        index = pd.DatetimeIndex(series.index).tz_convert("UTC").as_unit("ns")
        values = series.to_numpy(dtype=np.float64)
        self._forget(key)
        rows = [(key, int(t), float(v)) for t, v in zip(index.asi8, values, strict=True) if v == v]
        with self._db:
            self._db.executemany(
                "INSERT INTO series_value (key, slot_start_ns, value) VALUES (?, ?, ?) "
                "ON CONFLICT (key, slot_start_ns) DO UPDATE SET value = excluded.value",
                rows,
            )
            self._db.execute(
                "INSERT INTO series_fetch (key, fetched_at_ns, name) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET fetched_at_ns = excluded.fetched_at_ns, "
                "name = excluded.name",
                (key, pd.Timestamp(fetched_at_utc).value, str(series.name or key)),
            )

    def load(self, key: str, *, since_utc: datetime | None = None) -> CachedSeries:
        """Everything cached under ``key`` (from ``since_utc`` on, when given: a forecaster
        needs weeks, not the whole history).

        Raises:
            DataMissingError: nothing was ever stored under ``key``.
        """
        since_ns = np.iinfo(np.int64).min if since_utc is None else pd.Timestamp(since_utc).value
        remembered = self._memo.get((key, since_ns))
        if remembered is not None:
            return remembered
        fetch = self._db.execute(
            "SELECT fetched_at_ns, name FROM series_fetch WHERE key = ?", (key,)
        ).fetchone()
        if fetch is None:
            raise DataMissingError(key)
        rows = self._db.execute(
            "SELECT slot_start_ns, value FROM series_value WHERE key = ? AND slot_start_ns >= ? "
            "ORDER BY slot_start_ns",
            (key, since_ns),
        ).fetchall()
        table = np.array(rows, dtype=np.float64).reshape(-1, 2)
        stamps = np.array([r[0] for r in rows], dtype=np.int64)
        times = pd.DatetimeIndex(pd.to_datetime(stamps, unit="ns", utc=True), name="slot_start_utc")
        series = pd.Series(table[:, 1], index=times, name=fetch[1], dtype=np.float64)
        fetched = pd.Timestamp(fetch[0], unit="ns", tz=UTC).to_pydatetime()
        cached = CachedSeries(key=key, series=series, fetched_at_utc=fetched)
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
        self._forget(key)
        with self._db:
            cursor = self._db.execute(
                "DELETE FROM series_value WHERE key = ? AND slot_start_ns < ?",
                (key, pd.Timestamp(before_utc).value),
            )
        return cursor.rowcount

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
