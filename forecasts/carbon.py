"""Carbon intensity forecast: the Carbon Intensity API's forecast where it exists (about 48 h
ahead), a same-slot pattern of recent actuals beyond it. Every future intensity is a forecast;
``is_forecast`` here marks the slots filled by *our* pattern rather than by the API, which the
planner may trust less.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from forecasts.pattern import MarketForecast, known_then_pattern
from kernel.timegrid import TimeGrid

NAME = "carbon_intensity_g_per_kwh"


def forecast_carbon_intensity(
    api_forecast: pd.Series | None,
    history: pd.Series,
    grid: TimeGrid,
    issued_at_utc: datetime,
    *,
    days: int = 7,
) -> MarketForecast:
    """Carbon intensity on ``grid`` [gCO2/kWh]: the API's forecast (as fetched by
    ``issued_at_utc``) where it has a value, the same-slot median of ``history`` (past actuals)
    elsewhere; ``is_forecast`` marks the pattern slots."""
    result = known_then_pattern(api_forecast, history, grid, issued_at_utc, name=NAME, days=days)
    return MarketForecast(
        series=result.series,
        is_forecast=result.is_forecast,
        issued_at_utc=issued_at_utc,
        method=f"Carbon Intensity API forecast, beyond it median of the same slot over {days} days",
    )
