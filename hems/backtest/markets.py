"""The actuals of a backtest, and a planner's market with some inputs made perfect.

:func:`actual_market`: the given actuals (real data), or the forecast market plus seeded noise
fixed before the run, priced on the home's tariff (:func:`hems.tariff_prices.tariff_prices`).
The noise is drawn once per slot, so every strategy of a run meets the same weather and load,
and the perfect-foresight planner can be shown exactly what will happen.

:func:`with_actual_inputs`: the planner sees the actuals for chosen columns and its forecasts
for the rest: what a perfect forecast of one input is worth (how the capture ratio's loss was
split between PV, base load, prices and temperature in docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta

import numpy as np
import pandas as pd

from hems.backtest.config import BacktestConfig
from hems.domain.home import HomeSpec
from hems.market import BASE_LOAD_P90, COLUMNS, MarketSource, ReplayedMarket
from hems.tariff_prices import tariff_prices
from optimiser import TimeGrid


def actual_market(config: BacktestConfig, *, tail_hours: float | None = None) -> ReplayedMarket:
    """What actually happens, slot by slot, over the period and a planning horizon beyond it.

    With ``config.actuals`` (real data) that series as it is (an error if a slot has no
    value); otherwise the forecast market with noise:

    Prices and carbon intensity are the forecast market's values (taken as known in this
    increment); base load and PV are scaled by ``1 + noise * N(0, 1)`` (clipped at zero; base
    load at 0.05 kW) and the outdoor temperature shifted by ``5 * noise * N(0, 1)`` K.
    """
    tail = config.data_horizon_hours if tail_hours is None else tail_hours
    n_steps = round((config.days * 24 + tail) * 60 / config.slot_minutes)
    grid = TimeGrid(start_utc=config.start_utc, step_minutes=config.slot_minutes, n_steps=n_steps)
    if config.actuals is not None:
        given = config.actuals.series(grid, config.home)[list(COLUMNS)].astype(float).copy()
        missing = given.isna().sum()
        if missing.any():
            raise ValueError(
                "the actuals have no value for some slots of the period and horizon: "
                + ", ".join(f"{c} {n}" for c, n in missing.items() if n)
            )
        given.index.name = "slot_start_utc"
        return ReplayedMarket(_on_tariff(given, grid, config.home))
    frame = config.market.series(grid, config.home)[list(COLUMNS)].astype(float).copy()
    rng = np.random.default_rng(config.seed)
    noise = config.noise
    jitter = 1.0 + noise * rng.standard_normal(n_steps)
    frame["base_load_kw"] = np.maximum(0.05, frame["base_load_kw"].to_numpy() * jitter)
    jitter_pv = 1.0 + noise * rng.standard_normal(n_steps)
    frame["pv_kw_per_kwp"] = np.maximum(0.0, frame["pv_kw_per_kwp"].to_numpy() * jitter_pv)
    frame["outdoor_temperature_c"] = frame["outdoor_temperature_c"].to_numpy() + (
        5 * noise * rng.standard_normal(n_steps)
    )
    frame.index.name = "slot_start_utc"
    frame = _on_tariff(frame, grid, config.home)
    # A sample covering the period and beyond: ReplayedMarket's cyclic wrap never triggers.
    assert grid.index[-1] - grid.index[0] >= timedelta(days=config.days)
    return ReplayedMarket(frame)


def _on_tariff(frame: pd.DataFrame, grid: TimeGrid, home: HomeSpec) -> pd.DataFrame:
    """``frame`` with the import and export prices of ``home``'s tariff (the market's series
    for Agile): what the home is billed."""
    imp, exp = tariff_prices(
        home.tariff,
        grid,
        frame["import_price_gbp_per_kwh"].to_numpy(),
        frame["export_price_gbp_per_kwh"].to_numpy(),
    )
    frame["import_price_gbp_per_kwh"] = imp
    frame["export_price_gbp_per_kwh"] = exp
    return frame


def market_columns(names: Sequence[str]) -> tuple[str, ...]:
    """``names`` as a tuple, each checked against :data:`hems.market.COLUMNS`.

    Raises:
        ValueError: a name that is not a market column (the message lists the valid ones).
    """
    unknown = [name for name in names if name not in COLUMNS]
    if unknown:
        raise ValueError(f"unknown market columns {unknown}; choose from {', '.join(COLUMNS)}")
    return tuple(names)


@dataclass(frozen=True, slots=True)
class WithActualColumns:
    """A :class:`~hems.market.MarketSource`: ``forecast``'s series with ``columns`` taken from
    ``actual`` (the same grid: what happened in those slots)."""

    forecast: MarketSource
    actual: MarketSource
    columns: tuple[str, ...]

    def __post_init__(self) -> None:
        market_columns(self.columns)

    def series(self, grid: TimeGrid, home: HomeSpec) -> pd.DataFrame:
        out = self.forecast.series(grid, home)
        if self.columns:
            actual = self.actual.series(grid, home)
            for column in self.columns:
                out[column] = actual[column].to_numpy()
            if "base_load_kw" in self.columns and BASE_LOAD_P90 in out.columns:
                out[BASE_LOAD_P90] = out["base_load_kw"]  # a perfect forecast has no spread
        return out


def with_actual_inputs(config: BacktestConfig, columns: Sequence[str]) -> BacktestConfig:
    """``config`` whose planner sees what actually happened for ``columns`` (names from
    :data:`hems.market.COLUMNS`) and its forecasts for the rest.

    Raises:
        ValueError: an unknown column, or a config without given actuals (``config.actuals``,
            as on real data): without them the actuals are the planner's market plus noise,
            and a market made of its own actuals would be circular.
    """
    if config.actuals is None:
        raise ValueError("with_actual_inputs needs a backtest with given actuals (real data)")
    return replace(config, market=WithActualColumns(config.market, config.actuals, tuple(columns)))
