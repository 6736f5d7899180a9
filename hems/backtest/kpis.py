"""KPIs of backtest runs as tidy DataFrames: one row per strategy, one per strategy and day.

Columns (energies kWh, money GBP, carbon kg): ``bill_gbp`` (imports at the import price minus
exports at the export price), ``import_kwh``, ``export_kwh``, ``carbon_kg`` (imports times the
grid's intensity), ``comfort_deficit_kelvin_hours`` (time below the comfort minimum),
``ev_short_kwh`` (energy missing at departures against the consumer's target),
``ev_departures``, ``battery_throughput_kwh`` (charged plus discharged), ``battery_cycles``
(throughput over twice the capacity), ``peak_import_kw`` (5-minute mean), and for the
summary ``plans``, ``planning_s``, ``plans_per_s`` and ``wall_s``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from hems.backtest.engine import RunResult
from hems.domain.devices import BatterySpec
from hems.domain.home import HomeSpec


@dataclass(frozen=True, slots=True)
class BacktestResults:
    """The runs and their KPI frames."""

    runs: tuple[RunResult, ...]
    summary: pd.DataFrame
    daily: pd.DataFrame


def _capacity(home: HomeSpec) -> float:
    return sum(d.capacity_kwh for d in home.devices if isinstance(d, BatterySpec))


def summary_frame(runs: Sequence[RunResult], home: HomeSpec) -> pd.DataFrame:
    """One row per run, indexed by strategy."""
    cap = _capacity(home)
    rows = []
    for r in runs:
        row: dict[str, object] = {"strategy": r.strategy, **r.totals}
        row["battery_cycles"] = r.totals["battery_throughput_kwh"] / (2 * cap) if cap else 0.0
        row["plans"] = r.plans
        row["planning_s"] = r.planning_s
        row["plans_per_s"] = r.plans / r.planning_s if r.planning_s > 0 else float("nan")
        row["wall_s"] = r.wall_s
        rows.append(row)
    return pd.DataFrame(rows).set_index("strategy")


def daily_frame(runs: Sequence[RunResult], home: HomeSpec) -> pd.DataFrame:
    """One row per run and UK local day (columns ``strategy``, ``day``, then the KPIs)."""
    cap = _capacity(home)
    frame = pd.DataFrame([row for r in runs for row in r.daily])
    frame["battery_cycles"] = frame["battery_throughput_kwh"] / (2 * cap) if cap else 0.0
    return frame
