"""Speed of forecasting one home's 48 h inputs from cached data.

Run: ``python -m benchmarks.forecasts_speed [--runs 30]``. Self-contained (synthetic history, no
data folder, no network): 60 days of half-hourly meter readings, prices and carbon actuals plus a
48 h weather forecast are stored in a SQLite :class:`~adapters.cache.SeriesCache`; each run
reads the last 31 days back and forecasts base load, PV, prices, carbon intensity and outdoor
temperature on a 48 h half-hourly grid. Prints the median / min / max time per home; writes
``benchmarks/results/forecasts_speed.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from adapters.cache import SeriesCache, load_frame, store_frame
from forecasts.base_load import forecast_base_load
from forecasts.carbon import forecast_carbon_intensity
from forecasts.heat import forecast_outdoor_temperature, solar_gain_kw
from forecasts.prices import forecast_prices
from forecasts.pv import PvSystem, forecast_pv
from optimiser import TimeGrid

RESULTS = Path(__file__).resolve().parent / "results"
ISSUED = datetime(2026, 1, 15, 16, 5, tzinfo=UTC)
WEATHER = ["outdoor_temperature_c", "cloud_cover_fraction", "ghi_w_per_m2"]
SYSTEM = PvSystem(latitude_deg=51.75, longitude_deg=-1.25, kwp=4.0, inverter_kw=3.6)


def fill_cache(cache: SeriesCache) -> None:
    rng = np.random.default_rng(0)
    past = pd.date_range(ISSUED - timedelta(days=60), ISSUED, freq="30min", inclusive="left")
    hour = past.hour.to_numpy()
    evening = (hour >= 16) & (hour < 21)
    cache.store(
        "meter:import_kwh", pd.Series(rng.gamma(2, 0.08, len(past)) + 0.2 * evening, past), ISSUED
    )
    cache.store(
        "octopus:agile:C",
        pd.Series(0.15 + 0.15 * evening + rng.normal(0, 0.02, len(past)), past),
        ISSUED,
    )
    cache.store(
        "carbon:national",
        pd.Series(180 + 40 * evening + rng.normal(0, 15, len(past)), past),
        ISSUED,
    )
    ahead = pd.date_range(ISSUED - timedelta(hours=1), periods=100, freq="30min").floor("30min")
    day = np.clip(np.sin(np.pi * (ahead.hour.to_numpy() - 8) / 8), 0, None)
    weather = pd.DataFrame(
        {
            "outdoor_temperature_c": 4 + 3 * day,
            "cloud_cover_fraction": 0.6,
            "ghi_w_per_m2": 250 * day,
        },
        index=ahead,
    )
    store_frame(cache, "weather:home", weather, ISSUED)


def forecast_home(cache: SeriesCache, grid: TimeGrid) -> None:
    since = ISSUED - timedelta(days=31)
    meter = cache.load("meter:import_kwh", since_utc=since).series
    prices = cache.load("octopus:agile:C", since_utc=since).series
    carbon = cache.load("carbon:national", since_utc=since).series
    weather = load_frame(cache, "weather:home", WEATHER).reindex(grid.index)
    forecast_base_load(meter, grid, ISSUED)
    forecast_pv(SYSTEM, grid, weather, ISSUED)
    forecast_prices(prices, grid, ISSUED)
    forecast_carbon_intensity(None, carbon, grid, ISSUED)
    forecast_outdoor_temperature(weather["outdoor_temperature_c"], None, grid, ISSUED)
    solar_gain_kw(weather["ghi_w_per_m2"], aperture_m2=3.0)


def _timed(run: Callable[[], None], runs: int) -> dict[str, float]:
    times_ms = []
    for _ in range(runs):
        t0 = time.perf_counter()
        run()
        times_ms.append(1000 * (time.perf_counter() - t0))
    return {
        "median_ms": statistics.median(times_ms),
        "min_ms": min(times_ms),
        "max_ms": max(times_ms),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args(argv)
    grid = TimeGrid.starting_at(ISSUED + timedelta(minutes=25), horizon_hours=48)
    figures: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cache.sqlite"
        with SeriesCache(path) as cache:
            fill_cache(cache)
            forecast_home(cache, grid)  # warm-up: imports, profile table
            # warm: the planner's long-lived cache object (reads remembered in the process)
            figures["warm_cache"] = _timed(lambda: forecast_home(cache, grid), args.runs)

        def cold() -> None:  # a fresh process after a restart: every series read from SQLite
            with SeriesCache(path) as fresh:
                forecast_home(fresh, grid)

        figures["cold_sqlite"] = _timed(cold, args.runs)
    for name, f in figures.items():
        print(
            f"48 h inputs of one home, {name}: median {f['median_ms']:.1f} ms "
            f"(min {f['min_ms']:.1f}, max {f['max_ms']:.1f}, {args.runs} runs)"
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "forecasts_speed.json").write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
