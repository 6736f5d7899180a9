"""The planner strategy alone over a few days of 2020: its bill and CPU time per plan.

Run: ``python -m benchmarks.bench_planner_days --data ../shared/data --start 2020-05-22
--days 2 [--horizon-hours 36] [--pv-forecast weather|history] [--no-memory]
[--planner-gap 0.01] [--actual-inputs pv_kw_per_kwp,base_load_kw]``. The A/B tool behind
the horizon, mode-memory, PV-forecast, gap and capture-decomposition figures in
``docs/performance.md``: the reference home (:func:`hems.backtest.real_data_config`),
re-planning every slot, in this process (no Dask), after a one-day warm-up run and
:func:`optimiser.prepare_planner_process`. ``--actual-inputs``: the planner sees what actually
happened for those market columns (:func:`hems.backtest.with_actual_inputs`). Prints the bill
[GBP], process CPU time per plan [ms] and the plans at the solver's limit.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from unittest import mock

import pandas as pd

import hems.backtest.strategies as strategies
from benchmarks.bench_backtest import gap_argument
from hems.backtest import Cadence, real_data_config, with_actual_inputs
from hems.backtest.config import PLANNER_MIP_REL_GAP
from hems.backtest.data import DataMissingError
from hems.backtest.engine import run_strategy
from hems.backtest.markets import market_columns
from optimiser import (
    ModelExtension,
    ModeMemory,
    Plan,
    Problem,
    SolverOptions,
    optimise,
    prepare_planner_process,
)


def columns_argument(text: str) -> tuple[str, ...]:
    """Comma-separated market columns (``hems.market.COLUMNS``), for argparse."""
    try:
        return market_columns([name.strip() for name in text.split(",") if name.strip()])
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _forgetful(
    problem: Problem,
    options: SolverOptions | None = None,
    extensions: Sequence[ModelExtension] = (),
    memory: ModeMemory | None = None,
) -> Plan:
    """:func:`optimiser.optimise` without the home's mode memory (``--no-memory``): each plan's
    search starts afresh."""
    return optimise(problem, options, extensions)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="data folder (or $HEMS_DATA_DIR)")
    parser.add_argument("--start", default="2020-05-22", help="UTC date")
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--horizon-hours", type=int, default=36)
    parser.add_argument("--pv-forecast", default="weather", choices=["weather", "history"])
    parser.add_argument(
        "--no-memory", action="store_true", help="each plan without the last plan's modes"
    )
    parser.add_argument(
        "--planner-gap",
        type=gap_argument,
        default=PLANNER_MIP_REL_GAP,
        help="the planner's relative MIP gap (0.0005: the service's)",
    )
    parser.add_argument(
        "--actual-inputs",
        type=columns_argument,
        default=(),
        help="market columns the planner sees as they actually were (comma-separated)",
    )
    args = parser.parse_args(argv)
    start = datetime.fromisoformat(args.start).replace(tzinfo=UTC)
    try:
        config = real_data_config(
            args.data,
            start,
            args.days,
            allow_fill=True,
            pv=args.pv_forecast,
            horizon_hours=args.horizon_hours,
            planner_mip_rel_gap=args.planner_gap,
        )
    except DataMissingError as exc:
        print(f"bench_planner_days: {exc}")
        return 2
    config = with_actual_inputs(config, args.actual_inputs) if args.actual_inputs else config
    if args.no_memory:
        mock.patch.object(strategies, "optimise", _forgetful).start()  # for this process's life
    warm = replace(config, days=1)
    run_strategy(warm, strategies.strategy_named("planner", warm, Cadence.SLOT))
    prepare_planner_process()
    began = time.process_time()
    run = run_strategy(config, strategies.strategy_named("planner", config, Cadence.SLOT))
    cpu_s = time.process_time() - began
    bill = float(pd.DataFrame(run.daily)["bill_gbp"].sum())
    print(
        f"{args.start} +{args.days} d, {args.horizon_hours} h, PV {args.pv_forecast}, actual "
        f"{','.join(args.actual_inputs) or 'none'}, memory "
        f"{'off' if args.no_memory else 'on'}, gap {args.planner_gap:g}: bill {bill:.4f} GBP, "
        f"{run.plans} plans, CPU "
        f"{cpu_s:.1f} s ({1000 * cpu_s / run.plans:.0f} ms a plan), {run.plans_time_limited} "
        "at the solver's limit"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
