"""KPIs of backtest runs as tidy DataFrames: one row per strategy, one per strategy and day.

Columns (energies kWh, money GBP, carbon kg): ``bill_gbp`` (imports at the import price minus
exports at the export price), ``import_kwh``, ``export_kwh``, ``carbon_kg`` (imports times the
grid's intensity), ``comfort_deficit_kelvin_hours`` (time below the comfort minimum),
``ev_short_kwh`` (energy missing at departures against the consumer's target),
``ev_departures``, ``battery_throughput_kwh`` (charged plus discharged), ``battery_cycles``
(throughput over twice the capacity), ``peak_import_kw`` (5-minute mean), and for the
summary ``plans``, ``plans_time_limited`` and ``plans_fallback`` (solver stopped at its limit,
or no solution: the rule-based plan), ``plans_kept_model`` (through a model kept from an
earlier plan), ``planning_s`` (forecasts, problem building and solving),
``plans_per_s`` (plans / planning_s) and ``wall_s``; :attr:`RunResult.forecast_s` is the
forecasts' share.

DSR delivery (:func:`dsr_frame`, one row per home, strategy and event; import caps over slot
windows): ``import_kwh`` in the window, ``excess_kwh`` (slot energy above the cap),
``requested_kwh`` (the reference run's energy above the cap: what the event asks to remove),
``delivered_kwh`` (the reference run's import in the window minus this run's) and
``delivery_ratio`` (delivered / requested). The reference is the ``naive`` run of the same home
(NaN without one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from hems.backtest.config import BacktestConfig
from hems.backtest.data import DataReport
from hems.backtest.engine import RunResult
from hems.domain.devices import BatterySpec
from hems.domain.home import HomeSpec
from optimiser import DsrRequest


@dataclass(frozen=True, slots=True)
class BacktestResults:
    """The runs and their KPI frames (tidy: one row per strategy, per strategy and day, per
    slot, per DSR event; with many homes a ``home`` column too) and the data report."""

    runs: tuple[RunResult, ...]
    summary: pd.DataFrame
    daily: pd.DataFrame
    slots: pd.DataFrame = field(default_factory=pd.DataFrame)
    dsr: pd.DataFrame = field(default_factory=pd.DataFrame)
    data_report: DataReport | None = None

    def save(self, path: str | Path) -> list[Path]:
        """Write every frame as parquet and CSV next to ``path`` (``out/run.csv`` gives
        ``out/run.csv``/``.parquet`` for the summary, ``out/run_daily.*``, ``out/run_slots.*``,
        ``out/run_dsr.*`` and ``out/run_data_report.*``); returns the files written."""
        base = Path(path)
        base.parent.mkdir(parents=True, exist_ok=True)
        stem = base.with_suffix("")
        frames = {
            "": self.summary.reset_index(),
            "_daily": self.daily,
            "_slots": self.slots,
            "_dsr": self.dsr,
            "_data_report": (
                self.data_report.frame() if self.data_report is not None else pd.DataFrame()
            ),
        }
        written = []
        for suffix, frame in frames.items():
            if frame.empty and suffix:
                continue
            target = Path(f"{stem}{suffix}")
            frame.to_csv(target.with_suffix(".csv"), index=False)
            frame.to_parquet(target.with_suffix(".parquet"), index=False)
            written += [target.with_suffix(".csv"), target.with_suffix(".parquet")]
        return written


def results_of(
    runs: Sequence[RunResult],
    home: HomeSpec,
    *,
    dsr_events: Sequence[DsrRequest] = (),
    slot_minutes: int = 30,
    data_report: DataReport | None = None,
) -> BacktestResults:
    """Gather runs into :class:`BacktestResults`."""
    return BacktestResults(
        runs=tuple(runs),
        summary=summary_frame(runs, home),
        daily=daily_frame(runs, home),
        slots=slots_frame(runs),
        dsr=dsr_frame(runs, dsr_events, slot_minutes=slot_minutes),
        data_report=data_report,
    )


def results_for(
    runs: Sequence[RunResult], config: BacktestConfig, data_report: DataReport | None
) -> BacktestResults:
    """:func:`results_of` for runs of ``config``'s home (its DSR events and slot length)."""
    return results_of(
        runs,
        config.home,
        dsr_events=config.dsr_events,
        slot_minutes=config.slot_minutes,
        data_report=data_report,
    )


def slots_frame(runs: Sequence[RunResult]) -> pd.DataFrame:
    """Per-slot meter readings, one row per home, strategy and slot (columns ``home``,
    ``strategy``, ``slot_start_utc``, ``import_kwh``, ``export_kwh``, ``bill_gbp``,
    ``carbon_kg``)."""
    parts = []
    for r in runs:
        if r.slots is None:
            continue
        part = r.slots.reset_index()
        part.insert(0, "strategy", r.strategy)
        part.insert(0, "home", r.home)
        parts.append(part)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def dsr_frame(
    runs: Sequence[RunResult], events: Sequence[DsrRequest], *, slot_minutes: int = 30
) -> pd.DataFrame:
    """DSR delivery against request, one row per home, strategy and event (module docstring)."""
    slot_h = slot_minutes / 60
    rows = []
    reference = {r.home: r for r in runs if r.strategy == "naive"}
    for r in runs:
        if r.slots is None:
            continue
        for e in events:
            window = r.slots[
                (r.slots.index >= pd.Timestamp(e.start_utc))
                & (r.slots.index < pd.Timestamp(e.end_utc))
            ]["import_kwh"]
            cap_kwh = e.value_kw * slot_h
            row: dict[str, object] = {
                "home": r.home,
                "strategy": r.strategy,
                "event_id": e.event_id,
                "start_utc": e.start_utc,
                "end_utc": e.end_utc,
                "cap_kw": e.value_kw,
                "import_kwh": float(window.sum()),
                "excess_kwh": float((window - cap_kwh).clip(lower=0).sum()),
            }
            ref = reference.get(r.home)
            if ref is not None and ref.slots is not None:
                base = ref.slots[
                    (ref.slots.index >= pd.Timestamp(e.start_utc))
                    & (ref.slots.index < pd.Timestamp(e.end_utc))
                ]["import_kwh"]
                requested = float((base - cap_kwh).clip(lower=0).sum())
                delivered = float(base.sum()) - row["import_kwh"]  # type: ignore[operator]
                row["requested_kwh"] = requested
                row["delivered_kwh"] = delivered
                row["delivery_ratio"] = delivered / requested if requested > 0 else float("nan")
            else:
                row["requested_kwh"] = row["delivered_kwh"] = row["delivery_ratio"] = float("nan")
            rows.append(row)
    return pd.DataFrame(rows)


def _capacity(home: HomeSpec) -> float:
    return sum(d.capacity_kwh for d in home.devices if isinstance(d, BatterySpec))


def summary_frame(runs: Sequence[RunResult], home: HomeSpec) -> pd.DataFrame:
    """One row per run, indexed by strategy."""
    cap = _capacity(home)
    rows = []
    for r in runs:
        row: dict[str, object] = {"strategy": r.strategy, "home": r.home, **r.totals}
        row["battery_cycles"] = r.totals["battery_throughput_kwh"] / (2 * cap) if cap else 0.0
        row["plans"] = r.plans
        row["plans_time_limited"] = r.plans_time_limited
        row["plans_fallback"] = r.plans_fallback
        row["plans_kept_model"] = r.plans_kept_model
        row["planning_s"] = r.planning_s
        row["plans_per_s"] = r.plans / r.planning_s if r.planning_s > 0 else float("nan")
        row["wall_s"] = r.wall_s
        rows.append(row)
    return pd.DataFrame(rows).set_index("strategy")


def daily_frame(runs: Sequence[RunResult], home: HomeSpec) -> pd.DataFrame:
    """One row per run and UK local day (columns ``strategy``, ``day``, then the KPIs)."""
    cap = _capacity(home)
    frame = pd.DataFrame([{"home": r.home, **row} for r in runs for row in r.daily])
    frame["battery_cycles"] = frame["battery_throughput_kwh"] / (2 * cap) if cap else 0.0
    return frame
