"""Loader for carbon intensity CSV files in the layout of the Carbon Intensity API's CSV
downloads: ``Datetime (UTC)``, ``Actual Carbon Intensity (gCO2/kWh)``, ``Forecast Carbon
Intensity (gCO2/kWh)``, ``Index``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from adapters.errors import ParseError
from adapters.loading import FillReport, regularise

SOURCE = "carbon intensity csv"
ACTUAL = "carbon_intensity_actual_g_per_kwh"
FORECAST = "carbon_intensity_forecast_g_per_kwh"
BEST = "carbon_intensity_g_per_kwh"


def _column(frame: pd.DataFrame, *words: str) -> str:
    for column in frame.columns:
        if all(w in column.lower() for w in words):
            return str(column)
    raise ParseError(SOURCE, f"no column containing {words} in {list(frame.columns)}")


def read_carbon_intensity_csv(
    path: Path, *, max_gap_slots: int = 4
) -> tuple[pd.DataFrame, FillReport]:
    """Carbon intensity [gCO2/kWh] on a 30-minute UTC slot-start index.

    Columns: ``carbon_intensity_actual_g_per_kwh``, ``carbon_intensity_forecast_g_per_kwh`` and
    ``carbon_intensity_g_per_kwh`` (the actual where known, else the forecast). Gaps in the
    combined column up to ``max_gap_slots`` are interpolated; the report is about that column.

    Raises:
        ParseError: the columns are not there, or no row is readable.
    """
    frame = pd.read_csv(path)
    times = pd.to_datetime(frame[_column(frame, "datetime")], utc=True, errors="coerce")
    actual = pd.to_numeric(frame[_column(frame, "actual")], errors="coerce")
    forecast = pd.to_numeric(frame[_column(frame, "forecast")], errors="coerce")
    best, report = regularise(
        times, actual.fillna(forecast), name=BEST, max_gap_slots=max_gap_slots
    )
    if best.empty:
        raise ParseError(SOURCE, f"{path}: no readable row")
    raw = pd.DataFrame({ACTUAL: actual.to_numpy(), FORECAST: forecast.to_numpy()}, index=times)
    raw = raw[raw.index.notna() & ~raw.index.duplicated(keep="first")]
    out = raw.reindex(best.index)
    out[BEST] = best
    return out, report
