"""The planner's view of the market at each re-plan: forecasts from what was known then.

:class:`HistoricalForecast` is a :class:`hems.market.MarketSource`: asked for the series on a
grid, it issues forecasts at the grid's start (the re-plan time) with the service's own
forecasters (``forecasts/``), from the histories of a :class:`~hems.backtest.data.HomeData`:

* import price: Agile as published by then (to 23:00 UK time tomorrow once 16:00 UK time has
  passed, else to 23:00 today), beyond that the median of the same local slot over the last 7
  published days (:func:`forecasts.prices.forecast_prices`); export: the flat export price;
* carbon intensity: the file's forecast column for the next 48 hours (the Carbon Intensity
  API's forecast), beyond it the same-slot median of the actuals known then
  (:func:`forecasts.carbon.forecast_carbon_intensity`);
* base load: :func:`forecasts.base_load.expected_base_load` (the expected value: the plan's
  cost is linear in it) on the metered history;
* PV per kWp: :func:`forecasts.pv.forecast_pv` without a weather forecast (clear sky times an
  assumed cloud cover) for 1 kWp, scaled by the ratio of measured to modelled output over the
  last 14 days (:func:`forecasts.pv.history_correction`), and for the next hours by the
  ratio seen over the last 1.5 h, relaxing to the 14-day ratio with an e-folding time of 2 h
  of lead (:func:`forecasts.pv.nowcast_correction`, "smart persistence");
* outdoor temperature: ``"weather"``: the actual temperature plus a seeded error whose
  standard deviation grows with lead time (``0.5 + 1.0 * lead_days`` K: a stand-in for a
  weather forecast, which the data folder does not have); ``"persistence"``: the same slot the
  day before (:func:`forecasts.heat.forecast_outdoor_temperature` on observations only).

Only ``"weather"`` temperature looks at actuals after the issue time (by design: it simulates a
forecast); every other input is a function of the data known at the issue time, which
``tests/hems/backtest/test_forecast_market.py`` checks by doctoring the future.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

import numpy as np
import pandas as pd

from forecasts.base_load import expected_base_load
from forecasts.carbon import forecast_carbon_intensity
from forecasts.grid import values_on
from forecasts.heat import forecast_outdoor_temperature
from forecasts.prices import forecast_prices
from forecasts.pv import PvSystem, forecast_pv, history_correction, nowcast_correction
from hems.backtest.data import DEFAULT_EXPORT_PRICE_GBP_PER_KWH, DataGapError, HomeData
from hems.domain.home import HomeSpec
from hems.market import COLUMNS
from optimiser import TimeGrid

TemperatureForecast = Literal["weather", "persistence"]
CARBON_API_HORIZON = timedelta(hours=48)


@dataclass
class HistoricalForecast:
    """Forecasts issued at each grid's start from a :class:`HomeData`'s histories.

    Attributes:
        data: the histories (the actuals are not used, except ``"weather"`` temperature).
        pv_system: the array the PV model is run for (per kWp: ``kwp`` is 1).
        temperature: ``"weather"`` (actual + growing error) or ``"persistence"``.
        temperature_error_k: error standard deviation at lead 0 [K] and growth per day [K/d].
        export_price_gbp_per_kwh: the flat export price [GBP/kWh].
        seed: seed of the temperature error (drawn per issue time and slot).
    """

    data: HomeData
    pv_system: PvSystem = field(
        default_factory=lambda: PvSystem(latitude_deg=51.75, longitude_deg=-1.25, kwp=1.0)
    )
    temperature: TemperatureForecast = "weather"
    temperature_error_k: tuple[float, float] = (0.5, 1.0)
    export_price_gbp_per_kwh: float = DEFAULT_EXPORT_PRICE_GBP_PER_KWH
    seed: int = 0
    _pv_model: pd.Series | None = field(default=None, init=False, repr=False)

    def series(self, grid: TimeGrid, home: HomeSpec | None = None) -> pd.DataFrame:
        """The :data:`hems.market.COLUMNS` on ``grid`` as forecast at ``grid.start_utc``."""
        issued = grid.start_utc
        index = grid.index
        columns: dict[str, np.ndarray] = {}
        columns["import_price_gbp_per_kwh"] = forecast_prices(
            self.data.import_price_gbp_per_kwh, grid, issued
        ).series.to_numpy()
        columns["export_price_gbp_per_kwh"] = np.full(len(index), self.export_price_gbp_per_kwh)
        carbon = self.data.carbon
        api = carbon.iloc[:, 1]
        api_index = pd.DatetimeIndex(api.index)
        first, last = api_index.searchsorted(
            [pd.Timestamp(issued), pd.Timestamp(issued + CARBON_API_HORIZON)]
        )
        columns["carbon_intensity_g_per_kwh"] = forecast_carbon_intensity(
            api.iloc[first:last], carbon.iloc[:, 0], grid, issued
        ).series.to_numpy()
        columns["base_load_kw"] = expected_base_load(
            self.data.base_load_kwh, grid, issued
        ).to_numpy()
        columns["outdoor_temperature_c"] = self._temperature(grid)
        columns["pv_kw_per_kwp"] = self._pv(grid)
        out = pd.DataFrame({c: columns[c] for c in COLUMNS}, index=index)
        missing = out.isna()
        if missing.to_numpy().any():
            column = str(missing.any().idxmax())
            slot = pd.Timestamp(missing.index[int(np.argmax(missing[column].to_numpy()))])
            raise DataGapError(
                f"cannot forecast {column} for {slot.isoformat()} as of {issued.isoformat()}: "
                "no history known then to forecast it from (start the backtest a few days "
                "after the data's first day)"
            )
        return out

    def _temperature(self, grid: TimeGrid) -> np.ndarray:
        issued = grid.start_utc
        observed = self.data.outdoor_temperature_c
        if self.temperature == "persistence":
            known = observed[observed.index < pd.Timestamp(issued)].iloc[-24 * 2 * 8 :]
            return forecast_outdoor_temperature(
                None, known, grid, issued, observed_step_minutes=30
            ).series.to_numpy()
        actual = values_on(observed, grid.index)
        if np.isnan(actual).any():
            actual = pd.Series(actual).interpolate(limit_direction="both").to_numpy()
        lead_days = np.arange(grid.n_steps) * grid.step_minutes / (60 * 24)
        sd0, growth = self.temperature_error_k
        key = int(pd.Timestamp(issued).timestamp()) // 60
        rng = np.random.default_rng([self.seed, key])
        # a smooth error: a random walk scaled to the target spread at each lead
        walk = np.cumsum(rng.standard_normal(grid.n_steps)) / np.sqrt(
            np.arange(1, grid.n_steps + 1)
        )
        return np.asarray(actual + (sd0 + growth * lead_days) * walk, dtype=np.float64)

    def _pv(self, grid: TimeGrid) -> np.ndarray:
        issued = grid.start_utc
        model = self._modelled(grid)
        past = self._modelled(
            TimeGrid(
                start_utc=issued - timedelta(days=14),
                step_minutes=grid.step_minutes,
                n_steps=14 * 24 * 60 // grid.step_minutes,
            )
        )
        ratio = history_correction(
            self.data.pv_kw_per_kwp, past, issued, step_minutes=grid.step_minutes
        )
        now = nowcast_correction(
            self.data.pv_kw_per_kwp, past, grid, issued, ratio, step_minutes=grid.step_minutes
        )
        return np.asarray(model.to_numpy() * now, dtype=np.float64)

    def _modelled(self, grid: TimeGrid) -> pd.Series:
        """The no-weather PV model [kW/kWp] on ``grid``: a function of time alone (sun position
        and an assumed cloud cover, no data), so it is computed once per 30 days and reused."""
        model = self._pv_model
        if (
            model is None
            or model.index[1] - model.index[0] != pd.Timedelta(minutes=grid.step_minutes)
            or grid.start_utc < model.index[0]
            or grid.end_utc > model.index[-1] + pd.Timedelta(minutes=grid.step_minutes)
        ):
            block = TimeGrid(
                start_utc=grid.start_utc - timedelta(days=15),
                step_minutes=grid.step_minutes,
                n_steps=60 * 24 * 60 // grid.step_minutes,
            )
            self._pv_model = forecast_pv(
                self.pv_system, block, pd.DataFrame(index=block.index), block.start_utc
            ).p50
        assert self._pv_model is not None
        return pd.Series(values_on(self._pv_model, grid.index), index=grid.index)
