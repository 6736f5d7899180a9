"""Backtest benchmark on the real 2020 series: quality (capture ratio) and speed (plans/s).

Run: ``python -m benchmarks.bench_backtest --data ../shared/data --days 30 [--start 2020-01-06]
[--workers 2] [--cadence slot] [--foresight-cadence daily] [--chunk-days 30]
[--pv-forecast weather|history] [--planner-gap 0.02] [--export-prices agile-outgoing]
[--model-cache-shapes 0]``. The data
folder
may also be given as ``HEMS_DATA_DIR``; without it the benchmark says so and exits with status 2.

The reference home (:func:`hems.backtest.reference_home`: the fawkesley household's load, 4 kWp
PV from PVGIS, a 10 kWh battery, a 60 kWh EV whose stays are drawn from the Dundee slow-charger
sessions, a 3 kW heat pump in a semi-detached 1R1C house driven by ERA5 temperatures) on Agile
2020 import prices (export at a flat 5.5 p/kWh) and 2020 national carbon intensity;
``--start 2019-01-06 --export-prices agile-outgoing`` runs January - May 2019 on Agile 2019
import and Agile Outgoing export (South East; the carbon intensity and temperatures are 2020's
moved back 52 weeks, the household load 2021's moved back 104: docs/backtest.md). Every
strategy runs on a Dask LocalCluster (one process per strategy at a time); the planner
re-plans every slot (30 min) on forecasts issued then (PV from a simulated weather forecast
unless ``--pv-forecast history``: :class:`hems.backtest.forecast_market.HistoricalForecast`);
perfect foresight rolls on the actuals
(docs/backtest.md). ``--chunk-days N`` splits the period into chunks of N days, each
strategy's chunks running in parallel and each chunk after the first starting a warm-up day
early (:mod:`hems.backtest.chunks`). Prints each strategy's bill, carbon and comfort, the
planner's plans per second, the wall times, and the capture ratio
``(best baseline bill - planner bill) / (best baseline bill - perfect-foresight bill)``;
writes ``benchmarks/results/backtest.json`` and the run's frames under ``out/``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from hems.backtest import (
    BASELINE_NAMES,
    STRATEGY_NAMES,
    Cadence,
    DataMissingError,
    real_data_config,
    run_many,
)
from hems.backtest.chunks import run_chunked
from hems.backtest.config import MODEL_CACHE_SHAPES, PLANNER_MIP_REL_GAP, ROLLING_CADENCES
from hems.backtest.data import AGILE_OUTGOING, DATA_DIR_ENV, DataGapError
from hems.backtest.headline import capture_ratio, penalised_costs

RESULTS = Path(__file__).resolve().parent / "results"
EXPORT_FILES: dict[str, str | None] = {"flat": None, "agile-outgoing": AGILE_OUTGOING}


EV_SHORT_GBP_PER_KWH = 0.30
"""What a kWh the car lacks at departure costs the driver elsewhere (public charging, 2020)
[GBP/kWh], for the adjusted capture ratio."""


def gap_argument(text: str) -> float:
    """A relative MIP gap in [0, 1) (argparse type)."""
    gap = float(text)
    if not 0.0 <= gap < 1.0:
        raise argparse.ArgumentTypeError(f"the gap must be in [0, 1), got {gap}")
    return gap


def shapes_argument(text: str) -> int:
    """A number of model shapes, 0 or more (argparse type)."""
    shapes = int(text)
    if shapes < 0:
        raise argparse.ArgumentTypeError(f"0 (none) or more shapes, got {shapes}")
    return shapes


def _planner_figure(summary: pd.DataFrame, column: str) -> float:
    """The planner strategy's ``column`` in a run's summary (one row a strategy)."""
    return float(summary[column].astype(float)["planner"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help=f"data folder (or ${DATA_DIR_ENV})")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--start", default="2020-01-06", help="UTC date (a Monday by default)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--cadence", default="slot", choices=ROLLING_CADENCES)
    parser.add_argument("--foresight-cadence", default="daily", choices=ROLLING_CADENCES)
    parser.add_argument("--strategies", default=",".join(STRATEGY_NAMES))
    parser.add_argument("--out", default="out/bench_backtest.csv")
    parser.add_argument(
        "--chunk-days",
        type=int,
        default=0,
        help="split the period into chunks of this many days run in parallel (0: one run)",
    )
    parser.add_argument("--warmup-days", type=int, default=1, help="warm-up before each chunk")
    parser.add_argument(
        "--warmup-cadence",
        default="daily",
        choices=ROLLING_CADENCES,
        help="how often a planner re-plans during a chunk's warm-up",
    )
    parser.add_argument(
        "--pv-forecast",
        default="weather",
        choices=["weather", "history"],
        help="the planner's PV forecast: a simulated weather forecast, or none (history only)",
    )
    parser.add_argument(
        "--planner-gap",
        type=gap_argument,
        default=PLANNER_MIP_REL_GAP,
        help="the planner's relative MIP gap (the bound keeps the solver's 0.05 %%)",
    )
    parser.add_argument(
        "--export-prices",
        default="flat",
        choices=list(EXPORT_FILES),
        help="flat (5.5 p/kWh) or the Agile Outgoing series (January 2018 - May 2019)",
    )
    parser.add_argument(
        "--model-cache-shapes",
        type=shapes_argument,
        default=MODEL_CACHE_SHAPES,
        help="home shapes each planning strategy keeps a built model for (0: every plan fresh)",
    )
    parser.add_argument(
        "--load-spread-cover",
        type=float,
        default=None,
        help="the planner plans on the expected load plus this share of its spread to the "
        "P90 (default: the backtest's default)",
    )
    args = parser.parse_args(argv)
    names = [s for s in args.strategies.split(",") if s]
    start = datetime.fromisoformat(args.start).replace(tzinfo=UTC)
    began = time.perf_counter()
    try:
        config = real_data_config(
            args.data,
            start,
            args.days,
            allow_fill=True,
            pv=args.pv_forecast,
            foresight_cadence=Cadence(args.foresight_cadence),
            export_file=EXPORT_FILES[args.export_prices],
        )
        config = replace(
            config,
            planner_mip_rel_gap=args.planner_gap,
            model_cache_shapes=args.model_cache_shapes,
        )
        if args.load_spread_cover is not None:
            config = replace(config, load_spread_cover=args.load_spread_cover)
    except (DataMissingError, DataGapError) as exc:
        print(f"bench_backtest: {exc}", file=sys.stderr)
        return 2
    loaded_s = time.perf_counter() - began
    assert config.data_report is not None
    print(f"data loaded in {loaded_s:.1f} s; {config.data_report.summary()}")
    print(f"load average before the run: {os.getloadavg()}")
    run_began = time.perf_counter()
    if args.chunk_days:
        results = run_chunked(
            config,
            names,
            chunk_days=args.chunk_days,
            warmup_days=args.warmup_days,
            warmup_cadence=args.warmup_cadence,
            cadence=args.cadence,
            workers=args.workers,
        )
    else:
        results = run_many([config], names, cadence=args.cadence, workers=args.workers)
    run_s = time.perf_counter() - run_began
    load_after = os.getloadavg()
    results.save(args.out)
    s = results.summary
    columns = [
        "bill_gbp",
        "carbon_kg",
        "comfort_deficit_kelvin_hours",
        "ev_short_kwh",
        "import_kwh",
        "export_kwh",
        "battery_cycles",
        "peak_import_kw",
        "plans",
        "plans_time_limited",
        "plans_fallback",
        "plans_kept_model",
        "planning_s",
        "wall_s",
    ]
    print(s[columns].round(3).to_string())
    report: dict[str, object] = {
        "command": " ".join(["python -m benchmarks.bench_backtest", *(argv or sys.argv[1:])]),
        "start_utc": start.isoformat(),
        "days": args.days,
        "cadence": args.cadence,
        "foresight_cadence": args.foresight_cadence,
        "workers": args.workers,
        "chunk_days": args.chunk_days,
        "pv_forecast": args.pv_forecast,
        "export_prices": args.export_prices,
        "planner_mip_rel_gap": args.planner_gap,
        "model_cache_shapes": args.model_cache_shapes,
        "load_spread_cover": config.load_spread_cover,
        "warmup_days": args.warmup_days if args.chunk_days else 0,
        "warmup_cadence": args.warmup_cadence if args.chunk_days else None,
        "data_load_s": loaded_s,
        "all_strategies_wall_s": run_s,
        "load_average_after": load_after,
        "strategies": {n: {c: float(s.loc[n, c]) for c in columns} for n in s.index},
    }
    if "planner" in s.index:
        plans = _planner_figure(s, "plans")
        # in chunks a strategy's wall_s is its longest chunk's: the planner's own wall time is
        # the run's when it runs alone, and unknown when its chunks share the workers
        wall: float | None
        if not args.chunk_days:
            wall = _planner_figure(s, "wall_s")
        elif names == ["planner"]:
            wall = run_s
        else:
            wall = None
        report["planner_plans_per_s_wall"] = plans / wall if wall else None
        report["planner_plans_per_s_all_strategies_wall"] = plans / run_s
        planning = _planner_figure(s, "planning_s")
        forecasting = next(r.forecast_s for r in results.runs if r.strategy == "planner")
        solving = planning - forecasting
        report["planner_forecast_s"] = forecasting
        report["planner_plans_per_s_planning"] = plans / planning
        report["planner_plans_per_s_build_solve"] = plans / solving
        walled = (
            f"{plans:.0f} plans in {wall:.1f} s wall ({plans / wall:.1f} plans/s)"
            if wall
            else (f"{plans:.0f} plans (chunks shared the workers with other strategies)")
        )
        print(
            f"planner: {walled}; {plans / planning:.1f} plans/s counting forecasts + build + "
            f"solve, {plans / solving:.1f} plans/s counting build + solve only"
        )
    if {"planner", "perfect_foresight"} <= set(s.index) and set(BASELINE_NAMES) & set(s.index):
        ratio, best = capture_ratio({n: float(s.loc[n, "bill_gbp"]) for n in s.index})
        report["capture_ratio"] = ratio
        report["best_baseline"] = best
        print(f"capture ratio vs {best}: {100 * ratio:.1f} % (target >= 95 %)")
        # the same with the energy each strategy left the car short of, bought elsewhere
        adjusted = {
            n: float(s.loc[n, "bill_gbp"] + EV_SHORT_GBP_PER_KWH * s.loc[n, "ev_short_kwh"])
            for n in s.index
        }
        penalised = penalised_costs(s)
        ratio_pen, best_pen = capture_ratio(penalised)
        report["penalised_cost_gbp"] = penalised
        report["capture_ratio_penalised"] = ratio_pen
        report["best_baseline_penalised"] = best_pen
        print(
            f"on the penalised cost (bill + comfort and cars at the objective's penalties): "
            f"{100 * ratio_pen:.1f} % vs {best_pen} (planner {penalised['planner']:.3f}, "
            f"bound {penalised['perfect_foresight']:.3f} GBP)"
        )
        ratio_adj, best_adj = capture_ratio(adjusted)
        report["capture_ratio_ev_short_priced"] = ratio_adj
        report["best_baseline_ev_short_priced"] = best_adj
        print(
            f"with EV shortfall at {EV_SHORT_GBP_PER_KWH} GBP/kWh: {100 * ratio_adj:.1f} % vs "
            f"{best_adj}"
        )
    print(
        f"all strategies: {run_s:.1f} s wall on {args.workers} worker(s); load after {load_after}"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    chunked = f"_chunks{args.chunk_days}" if args.chunk_days else ""
    year = "" if start.year == 2020 else f"_{start.year}"
    exported = "" if args.export_prices == "flat" else f"_{args.export_prices}"
    target = RESULTS / f"backtest_{args.days}d{chunked}{year}{exported}.json"
    target.write_text(json.dumps(report, indent=2, default=str))
    print(f"written {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
