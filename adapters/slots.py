"""Putting source data onto the planner's slot grid.

The grid is :class:`kernel.TimeGrid`, the type the optimiser plans on; its slot starts are
:func:`kernel.timegrid.grid_index`.

Two kinds of source data:

* **interval values** (a price valid from A to B, an irradiance averaged over the past hour):
  each slot takes the value of the interval that contains the slot's start;
  :func:`intervals_on_grid`;
* **instant values** (a temperature at 12:00): linearly interpolated to each slot's midpoint;
  :func:`instants_on_grid`.

Slots the source does not cover are NaN; the caller decides (cache, fallback, forecast).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from kernel.timegrid import TimeGrid, grid_index


def as_utc_index(values: list[Any]) -> pd.DatetimeIndex:
    """Parse ISO timestamps (with an offset or ``Z``; None becomes NaT) into a tz-aware UTC
    index."""
    return pd.DatetimeIndex(pd.to_datetime(values, utc=True)).as_unit("ns")


def intervals_on_grid(
    starts: pd.DatetimeIndex,
    ends: pd.DatetimeIndex,
    values: np.ndarray,
    grid: TimeGrid,
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
    times: pd.DatetimeIndex, values: np.ndarray, grid: TimeGrid, *, name: str
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
