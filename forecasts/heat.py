"""Inputs of the building model: outdoor temperature and solar gains on the grid.

The optimiser owns the physics (1R1C building, COP at the outdoor temperature); this module only
supplies its inputs from the weather forecast, with a documented fallback where the forecast does
not reach:

1. the weather forecast's temperature for the slot;
2. else the forecast for the same local slot one or two days earlier (the forecast ends before
   the grid does: the last forecast day's shape is repeated);
3. else the observed temperature at the same local slot on the most recent known day;
4. else ``default_c``.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from forecasts.grid import SlotTable, grid_local_day_and_minute, known_at
from forecasts.pattern import MarketForecast
from kernel.timegrid import TimeGrid, grid_index

TEMPERATURE = "outdoor_temperature_c"
SOLAR_GAIN = "solar_gain_kw"


def forecast_outdoor_temperature(
    weather_forecast_c: pd.Series | None,
    observed_c: pd.Series | None,
    grid: TimeGrid,
    issued_at_utc: datetime,
    *,
    default_c: float = 10.0,
    observed_step_minutes: int = 60,
) -> MarketForecast:
    """Outdoor temperature on ``grid`` [°C] (``is_forecast`` marks slots that did not come from
    the weather forecast itself).

    Args:
        weather_forecast_c: temperature forecast (issued by ``issued_at_utc``), by time.
        observed_c: measured temperatures by time; only those measured by ``issued_at_utc``
            are used.
    """
    index = grid_index(grid)
    day, minute = grid_local_day_and_minute(grid)
    minute = (minute // grid.step_minutes) * grid.step_minutes
    values = np.full(len(index), np.nan)
    from_forecast_itself = np.zeros(len(index), dtype=bool)
    if weather_forecast_c is not None and len(weather_forecast_c.dropna()):
        forecast = weather_forecast_c.dropna().sort_index()
        # onto the grid's step over the forecast's whole span (an hourly forecast on a
        # half-hourly grid), interpolating in time inside the span only
        step = f"{grid.step_minutes}min"
        span = pd.date_range(forecast.index[0].ceil(step), forecast.index[-1], freq=step)
        fine = (
            forecast.reindex(forecast.index.union(span))
            .interpolate(method="time", limit_area="inside")
            .reindex(span)
        )
        values = fine.reindex(index).to_numpy(dtype=np.float64, copy=True)
        from_forecast_itself = ~np.isnan(values)
        forecast = fine
        table = SlotTable(forecast, step_minutes=grid.step_minutes)
        for lag in (1, 2):
            gap = np.isnan(values)
            values[gap] = table.lookup(day[gap] - lag, minute[gap])
    if observed_c is not None and len(observed_c) and np.isnan(values).any():
        seen = known_at(observed_c, issued_at_utc, step_minutes=observed_step_minutes)
        hourly = (minute // observed_step_minutes) * observed_step_minutes
        table = SlotTable(seen, step_minutes=observed_step_minutes)
        for lag in (1, 2, 3):
            gap = np.isnan(values)
            values[gap] = table.lookup(day[gap] - lag, hourly[gap])
    values = np.where(np.isnan(values), default_c, values)
    return MarketForecast(
        series=pd.Series(values, index=index, name=TEMPERATURE),
        is_forecast=pd.Series(~from_forecast_itself, index=index, name="is_forecast"),
        issued_at_utc=issued_at_utc,
        method="weather forecast, then its last days' shape, then observations, then a default",
    )


def solar_gain_kw(
    ghi_w_per_m2: pd.Series, *, aperture_m2: float, g_value: float = 0.6
) -> pd.Series:
    """Solar heat through the windows [kW]: GHI [W/m²] x effective aperture [m²] x g-value.

    A deliberately simple horizontal-aperture model; ``aperture_m2`` is the building's effective
    south-equivalent glazing, to be calibrated with the building's heat-loss parameters.
    """
    gain = np.maximum(ghi_w_per_m2.fillna(0.0).to_numpy(dtype=np.float64), 0.0)
    return pd.Series(
        gain * aperture_m2 * g_value / 1000.0, index=ghi_w_per_m2.index, name=SOLAR_GAIN
    )
