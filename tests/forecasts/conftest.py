"""Synthetic histories for the forecaster tests (no data files needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def local_pattern_kwh(start_local: str, days: int, *, evening_kw: float = 1.0) -> pd.Series:
    """Half-hourly energy [kWh] of a home that uses 0.2 kW, or ``evening_kw`` from 17:00 to 21:00
    UK local time, every day; indexed by slot start (UTC)."""
    start = pd.Timestamp(start_local, tz="Europe/London").tz_convert("UTC")
    end = (pd.Timestamp(start_local) + pd.Timedelta(days=days)).tz_localize("Europe/London")
    index = pd.date_range(start, end.tz_convert("UTC"), freq="30min", inclusive="left")
    hour = index.tz_convert("Europe/London").hour
    kw = np.where((hour >= 17) & (hour < 21), evening_kw, 0.2)
    return pd.Series(kw * 0.5, index=index, name="import_kwh")
