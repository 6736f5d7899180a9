"""Putting source data onto the planner's slot grid.

The adapters may not import the optimiser (docs/architecture.md), so they accept anything shaped
like ``optimiser.TimeGrid``: an object with ``start_utc``, ``step_minutes`` and ``n_steps``.

Two kinds of source data:

* **interval values** (a price valid from A to B, an irradiance averaged over the past hour):
  each slot takes the value of the interval that contains the slot's start;
  :func:`intervals_on_grid`;
* **instant values** (a temperature at 12:00): linearly interpolated to each slot's midpoint;
  :func:`instants_on_grid`.

Slots the source does not cover are NaN; the caller decides (cache, fallback, forecast).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

import numpy as np
import pandas as pd


class SlotGrid(Protocol):
    """Anything shaped like ``optimiser.TimeGrid``."""

    @property
    def start_utc(self) -> datetime: ...

    @property
    def step_minutes(self) -> int: ...

    @property
    def n_steps(self) -> int: ...


def grid_index(grid: SlotGrid) -> pd.DatetimeIndex:
    """Slot start times of ``grid``, tz-aware UTC, named ``slot_start_utc``."""
    return pd.date_range(
        pd.Timestamp(grid.start_utc).tz_convert("UTC"),
        periods=grid.n_steps,
        freq=f"{grid.step_minutes}min",
        name="slot_start_utc",
    ).as_unit("ns")


def as_utc_index(values: list[Any]) -> pd.DatetimeIndex:
    """Parse ISO timestamps (with an offset or ``Z``; None becomes NaT) into a tz-aware UTC
    index."""
    return pd.DatetimeIndex(pd.to_datetime(values, utc=True)).as_unit("ns")


def intervals_on_grid(
    starts: pd.DatetimeIndex,
    ends: pd.DatetimeIndex,
    values: np.ndarray,
    grid: SlotGrid,
    *,
    name: str,
) -> pd.Series:
    """Each slot of ``grid`` takes the value of the interval ``[start, end)`` holding its start.

    ``ends`` may hold NaT for an open-ended interval (valid until further notice). Where
    intervals overlap, the one that starts latest wins (a newer rate supersedes an older one).
    """
    index = grid_index(grid)
    out = np.full(len(index), np.nan)
    order = np.argsort(starts.asi8, kind="stable")
    slot_ns = index.asi8
    for i in order:
        lo = starts.asi8[i]
        end = ends[i]
        hi = np.iinfo(np.int64).max if pd.isna(end) else pd.Timestamp(end).value
        mask = (slot_ns >= lo) & (slot_ns < hi)
        out[mask] = values[i]
    return pd.Series(out, index=index, name=name)


def instants_on_grid(
    times: pd.DatetimeIndex, values: np.ndarray, grid: SlotGrid, *, name: str
) -> pd.Series:
    """Values observed at instants, linearly interpolated to each slot's midpoint.

    Slots whose midpoint lies outside ``[times[0], times[-1]]`` are NaN (no extrapolation).
    """
    index = grid_index(grid)
    order = np.argsort(times.asi8)
    t = times.asi8[order].astype(np.float64)
    v = np.asarray(values, dtype=np.float64)[order]
    ok = ~np.isnan(v)
    mid = index.asi8.astype(np.float64) + grid.step_minutes * 30 * 1e9
    if ok.sum() == 0:
        return pd.Series(np.nan, index=index, name=name)
    out = np.interp(mid, t[ok], v[ok], left=np.nan, right=np.nan)
    return pd.Series(out, index=index, name=name)
