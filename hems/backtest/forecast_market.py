"""The planner's view of the market at each re-plan: forecasts from what was known then.

:class:`HistoricalForecast` is a :class:`hems.market.MarketSource`: asked for the series on a
grid, it issues forecasts at the grid's start (the re-plan time) with the service's own
forecasters (``forecasts/``), from the histories of a :class:`~hems.backtest.data.HomeData`:

* import price: Agile as published by then (to 23:00 UK time tomorrow once 16:00 UK time has
  passed, else to 23:00 today), beyond that the median of the same local slot over the last 7
  published days (:func:`forecasts.prices.forecast_prices`); export: an export price series
  (Agile Outgoing, published with the import prices) the same way, a flat price as it is;
* carbon intensity: the file's forecast column for the next 48 hours (the Carbon Intensity
  API's forecast), beyond it the same-slot median of the actuals known then
  (:func:`forecasts.carbon.forecast_carbon_intensity`);
* base load: :func:`forecasts.base_load.expected_base_load_quantiles` on the metered history:
  the expected value (the plan's cost is linear in it) and its P90 (column
  :data:`hems.market.BASE_LOAD_P90`, for a planner that keeps a share of the spread);
* PV per kWp: :func:`forecasts.pv.forecast_pv` without a weather forecast (clear sky times an
  assumed cloud cover) for 1 kWp, scaled by the ratio of measured to modelled output over the
  last 14 days (:func:`forecasts.pv.history_correction`), and for the next hours by the
  ratio seen over the last 1.5 h, relaxing to the 14-day ratio with an e-folding time of 2 h
  of lead (:func:`forecasts.pv.nowcast_correction`, "smart persistence");
  With ``pv="weather"`` instead: a stand-in for the weather forecast the service's PV
  forecaster is fed (cloud cover or irradiance from ``adapters.weather``), which the data
  folder does not have: the actual output plus a seeded error in clear-sky-index units (a
  share of the clear-sky model's output) whose standard deviation grows with lead time from
  the forecast's run (``pv_error``: 0.2 + 0.1 per day of lead), clipped to 0-1.2 clear skies.
  Runs come every 6 h and are used 4 h after their nominal time (as a global model's are);
  the error is an AR(1) series in lead time (0.9 per half hour: cloud errors last hours),
  drawn once per run, so re-plans between two runs see the same forecast error, as they
  would. Over 2020 its day-ahead RMSE (12-36 h) is 0.089 kW/kWp, against 0.154 for
  persistence (the same slot a day earlier) and 0.121 for ``"history"``: a skill of 42 % over
  persistence, below the ~50 % Perez et al. (Solar Energy 94, 2013) found for the best
  NWP-based irradiance forecasts. With ``pv_nowcast`` (default) the run's forecast is then
  corrected by the home's own meter, as a live forecaster blending a weather forecast with
  measurements would: the ratio of the measured output to the same run's forecast over the
  last 1.5 h, relaxing to 1 with an e-folding time of 2 h of lead
  (:func:`forecasts.pv.nowcast_correction`, its defaults, as ``"history"`` uses them): a
  run's error persists for hours, so what the meter saw it get wrong lately it is likely
  to get wrong for the next hour or two;
* outdoor temperature: ``"weather"``: the actual temperature plus a seeded error whose
  standard deviation grows with lead time (``0.5 + 1.0 * lead_days`` K: a stand-in for a
  weather forecast, which the data folder does not have); ``"persistence"``: the same slot the
  day before (:func:`forecasts.heat.forecast_outdoor_temperature` on observations only).

Only the ``"weather"`` stand-ins (temperature by default, PV when asked) look at actuals after
the issue time (by design: they simulate a forecast); every other input is a function of the
data known at the issue time, which ``tests/hems/backtest/test_forecast_market.py`` checks by
doctoring the future.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

import numpy as np
import pandas as pd

from forecasts.base_load import expected_base_load_quantiles
from forecasts.carbon import forecast_carbon_intensity
from forecasts.grid import values_on
from forecasts.heat import forecast_outdoor_temperature
from forecasts.prices import forecast_prices
from forecasts.pv import PvSystem, forecast_pv, history_correction, nowcast_correction
from hems.backtest.data import DataGapError
from hems.backtest.home_data import HomeData
from hems.domain.home import HomeSpec
from hems.market import BASE_LOAD_P90, COLUMNS
from optimiser import TimeGrid

TemperatureForecast = Literal["weather", "persistence"]
PvForecast = Literal["history", "weather"]
CARBON_API_HORIZON = timedelta(hours=48)
PV_RUN_EVERY = timedelta(hours=6)
PV_RUN_LATENCY = timedelta(hours=4)
DEFAULT_PV_ERROR = (0.2, 0.1)
"""The weather PV forecast's clear-sky-index error: standard deviation at lead 0 from its run
[-] and growth per day of lead [1/d]."""
PV_DATA_MINUTES = 30
"""The PV data's (the meter's) slot length [min]."""
PV_DATA_STEP = f"{PV_DATA_MINUTES}min"
PV_NOWCAST_WINDOW_H = 1.5
"""How far back the weather PV forecast's nowcast compares the meter with the run [h]
(:func:`forecasts.pv.nowcast_correction`'s default). Shorter than the run's latency, so the
run in use covers the whole window."""
assert timedelta(hours=PV_NOWCAST_WINDOW_H) < PV_RUN_LATENCY
PV_ERROR_CORRELATION = 0.9
"""Lag-one correlation of the simulated clear-sky-index error between half-hour slots."""


@dataclass
class HistoricalForecast:
    """Forecasts issued at each grid's start from a :class:`HomeData`'s histories.

    Attributes:
        data: the histories (the actuals are not used, except ``"weather"`` temperature).
        pv_system: the array the PV model is run for (per kWp: ``kwp`` is 1).
        temperature: ``"weather"`` (actual + growing error) or ``"persistence"``.
        temperature_error_k: error standard deviation at lead 0 [K] and growth per day [K/d].
        pv: ``"history"`` (no weather: clear sky, assumed cloud, history ratio and nowcast) or
            ``"weather"`` (the simulated weather forecast above).
        pv_error: standard deviation of the ``"weather"`` PV forecast's clear-sky-index error
            at lead 0 from its run [-] and its growth per day of lead [1/d] (the forecast
            quality knob for sweeps on real data).
        pv_nowcast: correct the ``"weather"`` PV forecast's next hours by the measured output
            of the last 1.5 h (module docstring); off, the weather run's forecast as is.
        export_price_gbp_per_kwh: a flat export price [GBP/kWh] the planner is told; None
            (default): the data's (:attr:`HomeData.export_price_gbp_per_kwh`: a series is
            forecast as the import price is, a flat price taken as it is).
        seed: seed of the temperature and PV errors (drawn per issue time, or per run).
    """

    data: HomeData
    pv_system: PvSystem = field(
        default_factory=lambda: PvSystem(latitude_deg=51.75, longitude_deg=-1.25, kwp=1.0)
    )
    temperature: TemperatureForecast = "weather"
    temperature_error_k: tuple[float, float] = (0.5, 1.0)
    pv: PvForecast = "history"
    pv_error: tuple[float, float] = DEFAULT_PV_ERROR
    pv_nowcast: bool = True
    export_price_gbp_per_kwh: float | None = None
    seed: int = 0
    _pv_model: pd.Series | None = field(default=None, init=False, repr=False)
    _pv_clear: pd.Series | None = field(default=None, init=False, repr=False)
    _carbon: tuple[pd.Series, pd.Series] | None = field(default=None, init=False, repr=False)

    def series(self, grid: TimeGrid, home: HomeSpec | None = None) -> pd.DataFrame:
        """The :data:`hems.market.COLUMNS` on ``grid`` as forecast at ``grid.start_utc``, and
        the base load's P90 (:data:`hems.market.BASE_LOAD_P90`)."""
        issued = grid.start_utc
        index = grid.index
        columns: dict[str, np.ndarray] = {}
        columns["import_price_gbp_per_kwh"] = forecast_prices(
            self.data.import_price_gbp_per_kwh, grid, issued
        ).series.to_numpy()
        columns["export_price_gbp_per_kwh"] = self._export_prices(grid)
        actual, api = self._carbon_columns()
        first, last = pd.DatetimeIndex(api.index).searchsorted(
            [pd.Timestamp(issued), pd.Timestamp(issued + CARBON_API_HORIZON)]
        )
        columns["carbon_intensity_g_per_kwh"] = forecast_carbon_intensity(
            api.iloc[first:last], actual, grid, issued
        ).series.to_numpy()
        load = expected_base_load_quantiles(self.data.base_load_kwh, grid, issued)
        columns["base_load_kw"] = load.p50.to_numpy()
        columns[BASE_LOAD_P90] = load.p90.to_numpy()
        columns["outdoor_temperature_c"] = self._temperature(grid)
        columns["pv_kw_per_kwp"] = self._pv(grid)
        out = pd.DataFrame({c: columns[c] for c in (*COLUMNS, BASE_LOAD_P90)}, index=index)
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

    def _export_prices(self, grid: TimeGrid) -> np.ndarray:
        """The export price on ``grid`` [GBP/kWh]: a series as published by the issue time
        and its same-slot pattern beyond, a flat price everywhere."""
        export = self.data.export_price_gbp_per_kwh
        if self.export_price_gbp_per_kwh is not None:
            export = self.export_price_gbp_per_kwh
        if isinstance(export, pd.Series):
            fc = forecast_prices(export, grid, grid.start_utc, name="export_price_gbp_per_kwh")
            return np.asarray(fc.series.to_numpy(), dtype=np.float64)
        return np.full(grid.n_steps, float(export))

    def _carbon_columns(self) -> tuple[pd.Series, pd.Series]:
        """The actual and the API-forecast intensity, the same series objects every plan (so
        the same-slot pattern's table is built once, forecasts.grid.known_slot_table)."""
        if self._carbon is None:
            carbon = self.data.carbon
            self._carbon = (carbon.iloc[:, 0], carbon.iloc[:, 1])
        return self._carbon

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
        if self.pv == "weather":
            return self._pv_weather(grid)
        issued = grid.start_utc
        model = self._modelled(grid)
        past = self._modelled(
            TimeGrid(
                start_utc=issued - timedelta(days=14),
                step_minutes=grid.step_minutes,
                n_steps=14 * 24 * 60 // grid.step_minutes,
            )
        )
        # the meter's slots are half hours whatever the grid's step: one is known once it ended
        ratio = history_correction(
            self.data.pv_kw_per_kwp, past, issued, step_minutes=PV_DATA_MINUTES
        )
        now = nowcast_correction(
            self.data.pv_kw_per_kwp, past, grid, issued, ratio, step_minutes=PV_DATA_MINUTES
        )
        return np.asarray(model.to_numpy() * now, dtype=np.float64)

    def _pv_weather(self, grid: TimeGrid) -> np.ndarray:
        """The simulated weather-driven PV forecast [kW/kWp] (module docstring), corrected by
        the last measurements when :attr:`pv_nowcast` is on."""
        issued = pd.Timestamp(grid.start_utc)
        every = pd.Timedelta(PV_RUN_EVERY)
        run = (issued - pd.Timedelta(PV_RUN_LATENCY)).floor(every)
        step = pd.Timedelta(minutes=grid.step_minutes)
        # the nowcast compares the meter with the same run's forecast for the slots just past
        back = math.ceil(PV_NOWCAST_WINDOW_H * 60 / grid.step_minutes) if self.pv_nowcast else 0
        span = TimeGrid(
            start_utc=grid.start_utc - back * step.to_pytimedelta(),
            step_minutes=grid.step_minutes,
            n_steps=grid.n_steps + back,
        )
        clear = self._clear_sky(span).to_numpy()
        # the data are half-hour means: a 5- or 15-minute slot takes its half hour's (as the
        # replayed actuals do); a slot without data stays NaN and series() says so
        # (from the aligned actuals, filled to the end of the period's horizon like the replay)
        halves = span.index.floor(PV_DATA_STEP)
        actual = values_on(self.data.pv_kw_per_kwp, halves)
        aligned = values_on(self.data.actuals["pv_kw_per_kwp"], halves)
        actual = np.where(np.isnan(actual), aligned, actual)
        first = int((pd.Timestamp(span.start_utc) - run) / step)  # span's first slot from the run
        lead_steps = first + np.arange(span.n_steps)
        error = self._run_error(run, int(lead_steps[-1]) + 1, grid.step_minutes)[lead_steps]
        sd0, growth = self.pv_error
        lead_days = lead_steps * grid.step_minutes / (60 * 24)
        # the error is in clear-sky-index units (a share of the clear-sky output), so none at
        # night and little at dawn, and no brighter than 1.2 clear skies
        brightest = np.maximum(1.2 * clear, actual)
        forecast = np.clip(actual + clear * (sd0 + growth * lead_days) * error, 0.0, brightest)
        if not back:
            return np.asarray(forecast, dtype=np.float64)
        ratio = nowcast_correction(
            self.data.pv_kw_per_kwp,
            pd.Series(forecast, index=span.index),
            grid,
            grid.start_utc,
            1.0,
            window_hours=PV_NOWCAST_WINDOW_H,
            step_minutes=PV_DATA_MINUTES,
        )
        ahead = forecast[back:]
        return np.asarray(np.minimum(ahead * ratio, brightest[back:]), dtype=np.float64)

    def _run_error(self, run: pd.Timestamp, n_steps: int, step_minutes: int) -> np.ndarray:
        """A standard-normal AR(1) series over a run's lead steps, the same for every issue
        time that uses the run."""
        rng = np.random.default_rng([self.seed, int(run.timestamp()) // 60, 7])
        shocks = rng.standard_normal(n_steps)
        rho = PV_ERROR_CORRELATION ** (step_minutes / 30.0)  # the correlation is per half hour
        out = np.empty(n_steps)
        out[0] = shocks[0]
        innovation = np.sqrt(1.0 - rho * rho)
        for k in range(1, n_steps):
            out[k] = rho * out[k - 1] + innovation * shocks[k]
        return out

    def _modelled(self, grid: TimeGrid) -> pd.Series:
        """The no-weather PV model [kW/kWp] on ``grid``: a function of time alone (sun position
        and an assumed cloud cover, no data), so it is computed once per 30 days and reused."""
        self._pv_model = self._model_block(self._pv_model, grid, pd.DataFrame())
        return pd.Series(values_on(self._pv_model, grid.index), index=grid.index)

    def _clear_sky(self, grid: TimeGrid) -> pd.Series:
        """The PV model under a clear sky [kW/kWp] on ``grid`` (cached like :meth:`_modelled`)."""
        self._pv_clear = self._model_block(
            self._pv_clear, grid, pd.DataFrame({"cloud_cover_fraction": [0.0]})
        )
        return pd.Series(values_on(self._pv_clear, grid.index), index=grid.index)

    def _model_block(
        self, model: pd.Series | None, grid: TimeGrid, weather: pd.DataFrame
    ) -> pd.Series:
        """``model`` if it covers ``grid``, else the PV model's P50 over 60 days around it on
        ``weather`` (one row, repeated over the block; none: assumed cloud)."""
        if (
            model is not None
            and model.index[1] - model.index[0] == pd.Timedelta(minutes=grid.step_minutes)
            and grid.start_utc >= model.index[0]
            and grid.end_utc <= model.index[-1] + pd.Timedelta(minutes=grid.step_minutes)
        ):
            return model
        block = TimeGrid(
            start_utc=grid.start_utc - timedelta(days=15),
            step_minutes=grid.step_minutes,
            n_steps=60 * 24 * 60 // grid.step_minutes,
        )
        rows = (
            pd.DataFrame(index=block.index)
            if weather.empty
            else pd.DataFrame(
                {c: np.full(block.n_steps, weather[c].iloc[0]) for c in weather.columns},
                index=block.index,
            )
        )
        return forecast_pv(self.pv_system, block, rows, block.start_utc).p50
