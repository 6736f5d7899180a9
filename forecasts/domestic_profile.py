"""A typical domestic load shape for homes without enough metered history.

``profiles/domestic_class1.csv`` is Elexon profile class 1 (domestic unrestricted), from the 3YP
repository (MIT, (c) 2018 Scot Wheeler, Avinash Vijay), averaged per month, day type (weekday /
weekend) and half hour of the local day and expressed relative to the year's mean load; rebuilt
by ``examples/build_domestic_profile.py``.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from kernel.timegrid import UK_TIMEZONE

# Ofgem's typical domestic consumption value for electricity (medium, profile class 1) [kWh/yr]
TYPICAL_ANNUAL_KWH = 2700.0


@lru_cache(maxsize=1)
def _table() -> np.ndarray:
    """Relative load by [month - 1, weekend (0/1), half hour]."""
    with resources.as_file(resources.files("forecasts") / "profiles" / "domestic_class1.csv") as f:
        frame = pd.read_csv(f)
    table = np.full((12, 2, 48), np.nan)
    weekend = (frame["day_type"] == "weekend").to_numpy(dtype=np.int64)
    table[frame["month"].to_numpy() - 1, weekend, frame["slot"].to_numpy()] = frame[
        "relative_load"
    ].to_numpy()
    return table


def relative_profile(index: pd.DatetimeIndex) -> np.ndarray:
    """The class 1 load at each time relative to the year's mean load (dimensionless), looked up
    by UK local month, day type and half hour."""
    local = index.tz_convert(UK_TIMEZONE)
    weekend = (np.asarray(local.day_of_week) >= 5).astype(np.int64)
    slot = np.asarray(local.hour * 2 + local.minute // 30)
    return np.asarray(_table()[np.asarray(local.month) - 1, weekend, slot], dtype=np.float64)


def domestic_profile_kw(index: pd.DatetimeIndex, *, mean_kw: float) -> np.ndarray:
    """The class 1 shape scaled to a home whose mean load is ``mean_kw`` [kW]."""
    return relative_profile(index) * mean_kw
