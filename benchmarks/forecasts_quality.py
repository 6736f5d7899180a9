"""Forecast quality on real UK data: rolling-origin, day-ahead, against naive baselines.

Run: ``python -m benchmarks.forecasts_quality [--data ../shared/data] [--start 2022-01-01]
[--days 365]``. The data folder may also be given as ``CEM_SHARED_DATA``; without it the
benchmark says so and exits with status 2 (the test suite never needs it).

* base load: the fawkesley home's smart-meter series; issued daily at 16:00 UTC for the next
  UK local day; baseline *persistence* = the latest known value of the same local slot;
* prices: Agile 2020 (barnybug files); issued daily at 10:00 UTC, before publication, for the
  next local day (none of it published); baselines: persistence (same slot of the latest
  published day) and the same-slot mean over the last 7 days;
* carbon: national intensity 2020, actuals; issued 16:00 UTC for the day after next (beyond the
  API's forecast), pattern vs persistence;
* PV without a weather forecast (clear sky x assumed cloud) against PVGIS's simulated output,
  July-December 2016; baseline: the same slot yesterday.

Prints MAE and skill = 1 - MAE / MAE(baseline), and the P10-P90 coverage of the load bands;
writes ``benchmarks/results/forecasts_quality.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from adapters.carbon.files import read_carbon_intensity_csv
from adapters.meter.files import read_smart_meter_csv
from adapters.tariffs.files import read_agile_csv
from forecasts.base_load import BaseLoadSettings, forecast_base_load
from forecasts.carbon import forecast_carbon_intensity
from forecasts.pattern import same_slot_values
from forecasts.prices import agile_published_until, forecast_prices
from forecasts.pv import PvSystem, forecast_pv
from optimiser import TimeGrid

RESULTS = Path(__file__).resolve().parent / "results"


def _days(start: date, n: int) -> list[date]:
    return [start + timedelta(days=i) for i in range(n)]


def evaluate_base_load(
    data: Path, start: date, n_days: int, settings: BaseLoadSettings | None = None
) -> dict[str, float]:
    usage, _ = read_smart_meter_csv(
        data / "household/fawkesley_home_consumption_2020-08_2023-12.csv"
    )
    actual_kw = usage / 0.5
    persistence = BaseLoadSettings(weight_recent_day=1.0, weight_last_week=0.0, weight_trailing=0.0)
    errors, base_errors, inside, seconds = [], [], [], []
    for day in _days(start, n_days):
        issued = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=16)
        grid = TimeGrid.for_local_day(day + timedelta(days=1))
        truth = actual_kw.reindex(grid.index).to_numpy()
        if np.isnan(truth).any():
            continue
        t0 = time.perf_counter()
        forecast = forecast_base_load(usage, grid, issued, settings or BaseLoadSettings())
        seconds.append(time.perf_counter() - t0)
        naive = forecast_base_load(usage, grid, issued, persistence).p50.to_numpy()
        errors.append(np.abs(forecast.p50.to_numpy() - truth))
        base_errors.append(np.abs(naive - truth))
        inside.append((forecast.p10.to_numpy() <= truth) & (truth <= forecast.p90.to_numpy()))
    mae = float(np.mean(np.concatenate(errors)))
    mae_naive = float(np.mean(np.concatenate(base_errors)))
    return {
        "origins": len(errors),
        "mae_kw": mae,
        "mae_persistence_kw": mae_naive,
        "skill_vs_persistence": 1 - mae / mae_naive,
        "p10_p90_coverage": float(np.mean(np.concatenate(inside))),
        "median_ms": 1000 * float(np.median(seconds)),
    }


def evaluate_prices(data: Path, start: date, n_days: int) -> dict[str, float]:
    prices = pd.concat(
        [read_agile_csv(data / f"agile/barnybug_agile_{y}.csv")[0] for y in (2019, 2020)]
    )
    prices = prices[~prices.index.duplicated()].sort_index()
    errors: dict[str, list[np.ndarray]] = {"pattern": [], "persistence": [], "weekly_mean": []}
    for day in _days(start, n_days):
        issued = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=10)
        grid = TimeGrid.for_local_day(day + timedelta(days=1))
        truth = prices.reindex(grid.index).to_numpy()
        if np.isnan(truth).any():
            continue
        forecast = forecast_prices(prices, grid, issued)
        assert forecast.is_forecast.all()
        cutoff = pd.Timestamp(agile_published_until(issued))
        past = same_slot_values(prices, grid, cutoff, lags_days=range(1, 8))
        first_known = past[np.argmax(~np.isnan(past), axis=0), np.arange(past.shape[1])]
        errors["pattern"].append(np.abs(forecast.series.to_numpy() - truth))
        errors["persistence"].append(np.abs(first_known - truth))
        errors["weekly_mean"].append(np.abs(np.nanmean(past, axis=0) - truth))
    mae = {k: float(np.mean(np.concatenate(v))) for k, v in errors.items()}
    return {
        "origins": len(errors["pattern"]),
        "mae_gbp_per_kwh": mae["pattern"],
        "mae_persistence_gbp_per_kwh": mae["persistence"],
        "mae_weekly_mean_gbp_per_kwh": mae["weekly_mean"],
        "skill_vs_persistence": 1 - mae["pattern"] / mae["persistence"],
        "skill_vs_weekly_mean": 1 - mae["pattern"] / mae["weekly_mean"],
    }


def evaluate_carbon(data: Path, start: date, n_days: int) -> dict[str, float]:
    frame, _ = read_carbon_intensity_csv(data / "carbon/3yp_carbon_intensity_national_2020.csv")
    actual = frame["carbon_intensity_actual_g_per_kwh"]
    pattern_err, naive_err = [], []
    for day in _days(start, n_days):
        issued = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=16)
        grid = TimeGrid.for_local_day(day + timedelta(days=2))  # beyond the API's 48 h
        truth = actual.reindex(grid.index).to_numpy()
        if np.isnan(truth).any():
            continue
        pattern = forecast_carbon_intensity(None, actual, grid, issued).series.to_numpy()
        past = same_slot_values(actual, grid, issued, lags_days=range(1, 8))
        first_known = past[np.argmax(~np.isnan(past), axis=0), np.arange(past.shape[1])]
        pattern_err.append(np.abs(pattern - truth))
        naive_err.append(np.abs(first_known - truth))
    mae = float(np.mean(np.concatenate(pattern_err)))
    mae_naive = float(np.mean(np.concatenate(naive_err)))
    return {
        "origins": len(pattern_err),
        "mae_g_per_kwh": mae,
        "mae_persistence_g_per_kwh": mae_naive,
        "skill_vs_persistence": 1 - mae / mae_naive,
    }


def evaluate_pv_without_weather(data: Path) -> dict[str, float]:
    """The PV forecaster's no-weather fallback (clear sky x assumed cloud) against PVGIS's
    simulated hourly output of ~1 kWp in Oxfordshire, July-December 2016 (the first half tuned
    the fallback); baseline: the same slot the day before."""
    raw = pd.read_csv(data / "pv/3yp_oxon_pvgis_hourly_2016.csv", nrows=8784)
    stamps = pd.to_datetime(raw["Date"], format="%Y%m%d:%H%M").dt.floor("h")
    hourly_kw = pd.Series(
        pd.to_numeric(raw["EPV"]).to_numpy() / 1000.0, index=stamps.dt.tz_localize("UTC")
    )
    half_hours = pd.date_range(
        hourly_kw.index[0], hourly_kw.index[-1] + pd.Timedelta(minutes=30), freq="30min"
    )
    actual_kw = hourly_kw.reindex(half_hours).ffill()
    system = PvSystem(latitude_deg=51.75, longitude_deg=-1.26, kwp=1.0)
    errors, base_errors, inside = [], [], []
    for day in _days(date(2016, 7, 1), 182):
        issued = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=16)
        grid = TimeGrid(start_utc=issued + timedelta(hours=8), n_steps=48)
        truth = actual_kw.reindex(grid.index).to_numpy()
        if np.isnan(truth).any():
            continue
        forecast = forecast_pv(system, grid, pd.DataFrame(index=grid.index), issued)
        yesterday = actual_kw.reindex(grid.index - pd.Timedelta(days=1)).to_numpy()
        errors.append(np.abs(forecast.p50.to_numpy() - truth))
        base_errors.append(np.abs(yesterday - truth))
        daylight = truth > 0
        inside.append(
            ((forecast.p10.to_numpy() <= truth) & (truth <= forecast.p90.to_numpy()))[daylight]
        )
    mae = float(np.mean(np.concatenate(errors)))
    mae_naive = float(np.mean(np.concatenate(base_errors)))
    return {
        "origins": len(errors),
        "mae_kw_per_kwp": mae,
        "mae_persistence_kw_per_kwp": mae_naive,
        "skill_vs_persistence": 1 - mae / mae_naive,
        "p10_p90_coverage_daylight": float(np.mean(np.concatenate(inside))),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=Path(os.environ.get("CEM_SHARED_DATA", "../shared/data"))
    )
    parser.add_argument("--start", type=date.fromisoformat, default=date(2022, 1, 1))
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args(argv)
    if not (args.data / "household").is_dir():
        print(
            f"data folder {args.data} is missing (give --data or CEM_SHARED_DATA)", file=sys.stderr
        )
        return 2
    results = {
        "base_load": evaluate_base_load(args.data, args.start, args.days),
        "prices_agile_2020": evaluate_prices(args.data, date(2020, 1, 8), min(args.days, 350)),
        "carbon_national_2020": evaluate_carbon(args.data, date(2020, 1, 10), min(args.days, 350)),
        "pv_no_weather_pvgis_2016": evaluate_pv_without_weather(args.data),
    }
    for name, figures in results.items():
        print(name)
        for key, value in figures.items():
            print(
                f"  {key:32s} {value:.4f}" if isinstance(value, float) else f"  {key:32s} {value}"
            )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "forecasts_quality.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
