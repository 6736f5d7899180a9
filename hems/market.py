"""Inputs the planner needs per slot that come from outside the home: prices, carbon intensity,
weather and the base-load forecast.

:class:`ReplayedMarket` replays the bundled sample (``hems/demo_data``) onto any dates, slot by
slot at the same UTC time of day, so the demo runs today on real-shaped data without a network.
The live sources (Octopus, Carbon Intensity, Open-Meteo) arrive through ``adapters`` and
``forecasts`` in :class:`hems.live_market.LiveMarket`, with the same :class:`MarketSource` shape.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pandas as pd

from hems.demo import read_demo_series
from hems.domain.home import HomeSpec
from optimiser import TimeGrid

COLUMNS = (
    "import_price_gbp_per_kwh",
    "export_price_gbp_per_kwh",
    "carbon_intensity_g_per_kwh",
    "base_load_kw",
    "outdoor_temperature_c",
    "pv_kw_per_kwp",
)

BASE_LOAD_P90 = "base_load_p90_kw"
"""An optional column beside :data:`COLUMNS`: the base load's P90 forecast [kW], which a
planner with ``load_spread_cover`` keeps a share of (``optimiser.Problem``); a source without it
plans on the expected load alone."""


class MarketSource(Protocol):
    def series(self, grid: TimeGrid, home: HomeSpec) -> pd.DataFrame:
        """The :data:`COLUMNS` on ``grid`` (index: slot starts, UTC) for ``home``."""
        ...


class ReplayedMarket:
    """The bundled sample replayed cyclically: slot ``t`` takes the sample row at the same UTC
    time of day (and the same position in the sample's day cycle)."""

    def __init__(self, sample: pd.DataFrame | None = None) -> None:
        self._sample = read_demo_series() if sample is None else sample
        idx = pd.DatetimeIndex(self._sample.index)
        self._step = idx[1] - idx[0]
        self._start = idx[0]
        self._n = len(idx)
        # the columns as one array, read once: selecting them from the frame copied the whole
        # sample on every call (a year of actuals per simulation step in backtests)
        self._values = self._sample[list(COLUMNS)].to_numpy(dtype=np.float64)

    def series(self, grid: TimeGrid, home: HomeSpec | None = None) -> pd.DataFrame:
        """The sample on ``grid``; the same for every home."""
        index = grid.index
        # Each target slot's offset from the sample's start, in sample steps, wrapped.
        offset = ((index - self._start) // self._step).to_numpy().astype(np.int64) % self._n
        return pd.DataFrame(self._values[offset], index=index, columns=list(COLUMNS))

    def at(self, when: pd.Timestamp) -> dict[str, float]:
        """The sample row in force at one instant, by column."""
        offset = int((when - self._start) // self._step) % self._n
        return dict(zip(COLUMNS, self._values[offset].tolist(), strict=True))
