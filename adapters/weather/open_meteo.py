"""Open-Meteo's keyless forecast API (https://open-meteo.com/en/docs) for one location:
temperature, cloud cover and irradiance (GHI, DNI, DHI).

``GET https://api.open-meteo.com/v1/forecast?latitude=..&longitude=..&hourly=temperature_2m,
cloud_cover,shortwave_radiation,direct_normal_irradiance,diffuse_radiation&timezone=UTC
&start_date=..&end_date=..`` answers
``{"utc_offset_seconds", "hourly_units": {...}, "hourly": {"time": ["2026-01-15T00:00", ...],
"temperature_2m": [...], ...}}``, times local to ``timezone`` without an offset (we ask for UTC
and still apply ``utc_offset_seconds``). Values may be null.

Semantics (Open-Meteo docs): temperature and cloud cover are instantaneous at the hour;
radiation variables are the mean over the *preceding* hour. So temperature and cloud cover are
interpolated to each slot's midpoint and each radiation value covers ``[t - 1 h, t)``.

Open-Meteo's free API is for non-commercial use; a commercial deployment needs their paid plan
or another provider with the same trio.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

from adapters.errors import ParseError
from adapters.http import DEFAULT_POLICY, RetryPolicy, get_json
from adapters.slots import instants_on_grid, intervals_on_grid
from kernel.timegrid import TimeGrid, grid_index

BASE_URL = "https://api.open-meteo.com/v1/forecast"
SOURCE = "open-meteo"
TEMPERATURE = "outdoor_temperature_c"
CLOUD = "cloud_cover_fraction"
GHI = "ghi_w_per_m2"
DNI = "dni_w_per_m2"
DHI = "dhi_w_per_m2"
# Open-Meteo variable -> (our column, scale to our unit, preceding-hour mean?)
VARIABLES: dict[str, tuple[str, float, bool]] = {
    "temperature_2m": (TEMPERATURE, 1.0, False),
    "cloud_cover": (CLOUD, 0.01, False),
    "shortwave_radiation": (GHI, 1.0, True),
    "direct_normal_irradiance": (DNI, 1.0, True),
    "diffuse_radiation": (DHI, 1.0, True),
}


def forecast_params(
    latitude: float, longitude: float, grid: TimeGrid
) -> dict[str, str | int | float]:
    """Query parameters covering ``grid`` (whole UTC days, plus the hour after the grid so the
    last slots' preceding-hour radiation is included)."""
    index = grid_index(grid)
    end = index[-1] + pd.Timedelta(hours=1, minutes=grid.step_minutes)
    return {
        "latitude": round(latitude, 4),
        "longitude": round(longitude, 4),
        "hourly": ",".join(VARIABLES),
        "timezone": "UTC",
        "start_date": index[0].strftime("%Y-%m-%d"),
        "end_date": end.strftime("%Y-%m-%d"),
    }


def fetch_weather(
    latitude: float,
    longitude: float,
    grid: TimeGrid,
    *,
    policy: RetryPolicy = DEFAULT_POLICY,
    client: httpx.Client | None = None,
) -> pd.DataFrame:
    """Weather forecast for one location on ``grid`` (columns :data:`TEMPERATURE` [°C],
    :data:`CLOUD` [0-1], :data:`GHI`, :data:`DNI`, :data:`DHI` [W/m²])."""
    payload = get_json(
        BASE_URL,
        source=SOURCE,
        params=forecast_params(latitude, longitude, grid),
        policy=policy,
        client=client,
    )
    return parse_weather(payload, grid)


def read_weather(path: Path, grid: TimeGrid) -> pd.DataFrame:
    """Weather on ``grid`` from a saved Open-Meteo response."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ParseError(SOURCE, f"{path} is not JSON: {exc}") from exc
    return parse_weather(payload, grid)


def _values(hourly: dict[str, Any], variable: str, n: int) -> np.ndarray:
    raw = hourly.get(variable)
    if not isinstance(raw, list) or len(raw) != n:
        raise ParseError(SOURCE, f"hourly {variable!r} missing or not {n} long")
    try:
        return np.array([np.nan if v is None else float(v) for v in raw])
    except (TypeError, ValueError) as exc:
        raise ParseError(SOURCE, f"hourly {variable!r} holds a non-number: {exc}") from exc


def parse_weather(payload: Any, grid: TimeGrid) -> pd.DataFrame:
    """Weather on ``grid`` from an Open-Meteo response (pure); slots outside the response are NaN.

    Raises:
        ParseError: no ``hourly`` block, no times, or a variable missing or of the wrong length.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("hourly"), dict):
        raise ParseError(SOURCE, "response has no 'hourly' block")
    hourly = payload["hourly"]
    times_raw = hourly.get("time")
    if not isinstance(times_raw, list) or not times_raw:
        raise ParseError(SOURCE, "response has no hourly times")
    offset = payload.get("utc_offset_seconds", 0)
    if not isinstance(offset, int):
        raise ParseError(SOURCE, f"utc_offset_seconds {offset!r} is not an integer")
    try:
        naive = pd.DatetimeIndex(pd.to_datetime(times_raw, format="ISO8601"))
    except (ValueError, TypeError) as exc:
        raise ParseError(SOURCE, f"bad hourly times: {exc}") from exc
    if naive.tz is not None:
        raise ParseError(SOURCE, "hourly times carry an offset; expected local naive times")
    times = (naive - pd.Timedelta(seconds=offset)).tz_localize("UTC").as_unit("ns")
    columns: dict[str, pd.Series] = {}
    for variable, (column, scale, preceding_hour) in VARIABLES.items():
        values = _values(hourly, variable, len(times)) * scale
        if preceding_hour:
            starts = times - pd.Timedelta(hours=1)
            columns[column] = intervals_on_grid(starts, times, values, grid, name=column)
        else:
            columns[column] = instants_on_grid(times, values, grid, name=column)
    return pd.DataFrame(columns)
