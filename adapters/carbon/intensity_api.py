"""The Carbon Intensity API (NESO, https://carbon-intensity.github.io/api-definitions/),
national and regional, actual and 48 h forecast, in gCO2/kWh per half hour. No key needed.
Data: National Grid ESO / NESO, CC BY 4.0.

Endpoints used:

* national: ``/intensity/{from}/fw48h`` (grids up to 48 h) or ``/intensity/{from}/{to}``;
  ``{"data": [{"from", "to", "intensity": {"forecast", "actual", "index"}}]}``, ``actual`` null
  for the future;
* regional by region id (1-17) or postcode outward code (``RG10``):
  ``/regional/intensity/{from}/fw48h/regionid/{id}`` and ``.../postcode/{outward}``;
  ``{"data": {"regionid", "dnoregion", "shortname", "data": [{"from", "to", "intensity":
  {"forecast", "index"}, "generationmix": [...]}]}}``. The regional series are forecasts only
  (no ``actual``). Some regional endpoints wrap the region object in a one-element list; both
  shapes are accepted.

Each source is a trio: ``fetch_*`` (HTTP), ``read_*`` (saved JSON), ``parse_*`` (pure). The result
is a frame on the grid with ``carbon_intensity_forecast_g_per_kwh``,
``carbon_intensity_actual_g_per_kwh`` and ``carbon_intensity_g_per_kwh`` (actual where known,
else forecast).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

from adapters.errors import ParseError
from adapters.http import DEFAULT_POLICY, RetryPolicy, get_json
from adapters.slots import as_utc_index, intervals_on_grid
from kernel.timegrid import TimeGrid, grid_index

BASE_URL = "https://api.carbonintensity.org.uk"
SOURCE = "carbon intensity"
ACTUAL = "carbon_intensity_actual_g_per_kwh"
FORECAST = "carbon_intensity_forecast_g_per_kwh"
BEST = "carbon_intensity_g_per_kwh"
REGION_IDS = range(1, 18)
_OUTWARD = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")
_FW48H = pd.Timedelta(hours=48)


def _stamp(t: pd.Timestamp) -> str:
    return t.strftime("%Y-%m-%dT%H:%MZ")


def _window(grid: TimeGrid) -> str:
    index = grid_index(grid)
    start = index[0]
    end = index[-1] + pd.Timedelta(minutes=grid.step_minutes)
    if end - start <= _FW48H:
        return f"{_stamp(start)}/fw48h"
    return f"{_stamp(start)}/{_stamp(end)}"


def national_url(grid: TimeGrid) -> str:
    """URL of the national intensity over ``grid``."""
    return f"{BASE_URL}/intensity/{_window(grid)}"


def regional_url(
    grid: TimeGrid, *, region_id: int | None = None, postcode: str | None = None
) -> str:
    """URL of one region's intensity over ``grid``, by region id (1-17) or outward postcode.

    Raises:
        ValueError: neither or both given, a region id outside 1-17, or a postcode that is not an
            outward code (the part before the space, e.g. ``RG10``).
    """
    if (region_id is None) == (postcode is None):
        raise ValueError("give exactly one of region_id and postcode")
    if region_id is not None:
        if region_id not in REGION_IDS:
            raise ValueError(f"region_id must be 1-17, got {region_id}")
        return f"{BASE_URL}/regional/intensity/{_window(grid)}/regionid/{region_id}"
    outward = str(postcode).strip().upper()
    if not _OUTWARD.match(outward):
        raise ValueError(f"postcode must be an outward code such as 'RG10', got {postcode!r}")
    return f"{BASE_URL}/regional/intensity/{_window(grid)}/postcode/{outward}"


def fetch_national_intensity(
    grid: TimeGrid, *, policy: RetryPolicy = DEFAULT_POLICY, client: httpx.Client | None = None
) -> pd.DataFrame:
    """National intensity on ``grid`` [gCO2/kWh]: actual for the past, forecast ahead."""
    payload = get_json(national_url(grid), source=SOURCE, policy=policy, client=client)
    return parse_intensity(payload, grid)


def fetch_regional_intensity(
    grid: TimeGrid,
    *,
    region_id: int | None = None,
    postcode: str | None = None,
    policy: RetryPolicy = DEFAULT_POLICY,
    client: httpx.Client | None = None,
) -> pd.DataFrame:
    """One region's forecast intensity on ``grid`` [gCO2/kWh]."""
    url = regional_url(grid, region_id=region_id, postcode=postcode)
    payload = get_json(url, source=SOURCE, policy=policy, client=client)
    return parse_intensity(payload, grid)


def read_intensity(path: Path, grid: TimeGrid) -> pd.DataFrame:
    """Intensity on ``grid`` from a saved national or regional response."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ParseError(SOURCE, f"{path} is not JSON: {exc}") from exc
    return parse_intensity(payload, grid)


def _periods(payload: Any) -> list[dict[str, Any]]:
    if not isinstance(payload, dict) or "data" not in payload:
        raise ParseError(SOURCE, "response has no 'data'")
    data = payload["data"]
    if (
        isinstance(data, list)
        and len(data) == 1
        and isinstance(data[0], dict)
        and "data" in data[0]
    ):
        data = data[0]  # a region wrapped in a list
    if isinstance(data, dict):
        data = data.get("data")  # a region: its periods are under its own "data"
    if not isinstance(data, list):
        raise ParseError(SOURCE, "'data' holds no list of periods")
    return data


def _number(value: object) -> float:
    if value is None:
        return np.nan
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ParseError(SOURCE, f"intensity {value!r} is not a number")
    return float(value)


def parse_intensity(payload: Any, grid: TimeGrid) -> pd.DataFrame:
    """National or regional intensity on ``grid`` (pure). Slots the response does not cover are
    NaN; an empty period list is a :class:`ParseError` (the API always has a forecast ahead).

    Raises:
        ParseError: the documented keys are missing, or there is no period.
    """
    periods = _periods(payload)
    if not periods:
        raise ParseError(SOURCE, "no period in the response")
    try:
        starts = as_utc_index([p["from"] for p in periods])
        ends = as_utc_index([p["to"] for p in periods])
        intensity = [p["intensity"] for p in periods]
        forecast = np.array([_number(i.get("forecast")) for i in intensity])
        actual = np.array([_number(i.get("actual")) for i in intensity])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ParseError(SOURCE, f"period without from/to/intensity: {exc}") from exc
    frame = pd.DataFrame(
        {
            FORECAST: intervals_on_grid(starts, ends, forecast, grid, name=FORECAST),
            ACTUAL: intervals_on_grid(starts, ends, actual, grid, name=ACTUAL),
        }
    )
    frame[BEST] = frame[ACTUAL].fillna(frame[FORECAST])
    return frame
