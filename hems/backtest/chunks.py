"""Long backtests split in time: a year as consecutive chunks run in parallel.

One home's rolling backtest is sequential (each slot starts from the state the last one left),
so on its own it keeps one core busy. :func:`run_chunked` cuts the period into chunks of
``chunk_days`` and runs every (chunk, strategy) pair as its own task on the Dask cluster of
:func:`hems.backtest.run_many`. Each chunk after the first starts ``warmup_days`` early from
the simulated home's default state (battery, car and indoor temperature as at a backtest's
start); the warm-up days are run and then dropped, so every day of the period is counted once,
by a chunk that has already run for at least ``warmup_days`` before it. During the warm-up a
planner re-plans at ``warmup_cadence`` (daily by default) instead of every slot. What differs
from a continuous run is only the state at each chunk's first counted day: by then the battery
and the building have been through a day of the strategy's own operation (docs/backtest.md
gives the measured difference).

Totals of a chunked run are the sums of its counted days (``peak_import_kw`` their maximum);
``plans`` and ``planning_s`` count all the work done, warm-up included.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

import pandas as pd

from hems.backtest.config import BacktestConfig, Cadence
from hems.backtest.engine import ENERGY_KEYS, UK, RunResult
from hems.backtest.kpis import BacktestResults, results_for
from hems.backtest.parallel import run_many
from hems.planner_security import ClusterAccess


@dataclass(frozen=True, slots=True)
class Chunk:
    """One piece of a split period.

    Attributes:
        config: the chunk's backtest, warm-up included (``home_id`` ends in ``#k``).
        counted_from_utc: the first instant whose day counts [UTC]; before it is warm-up.
        counted_until_utc: the end of the chunk's counted part [UTC].
    """

    config: BacktestConfig
    counted_from_utc: datetime
    counted_until_utc: datetime

    @property
    def first_day(self) -> date:
        """The first UK local day this chunk counts."""
        return self.counted_from_utc.astimezone(UK).date()

    @property
    def end_day(self) -> date:
        """The first UK local day this chunk no longer counts (the next chunk's first)."""
        return self.counted_until_utc.astimezone(UK).date()


def split_period(
    config: BacktestConfig,
    chunk_days: int,
    warmup_days: int = 1,
    warmup_cadence: Cadence | str | None = None,
) -> list[Chunk]:
    """Cut ``config``'s period into chunks of ``chunk_days`` (the last may be shorter), each
    after the first starting ``warmup_days`` early, during which a planner re-plans at
    ``warmup_cadence`` (default: ``config.warmup_cadence``, daily).

    The warm-up ends at the chunk's first counted UK local day's midnight (an hour before the
    chunk's UTC start in summer time): the slots of a counted day are planned as counted.

    Raises:
        ValueError: ``chunk_days`` < 1 or ``warmup_days`` < 0.
    """
    if chunk_days < 1:
        raise ValueError(f"chunk_days must be at least 1, got {chunk_days}")
    if warmup_days < 0:
        raise ValueError(f"warmup_days must be >= 0, got {warmup_days}")
    chunks = []
    for k, first in enumerate(range(0, config.days, chunk_days)):
        days = min(chunk_days, config.days - first)
        counted_from = config.start_utc + timedelta(days=first)
        warm = min(warmup_days, first)  # the period's first day has no history to warm on
        chunk_config = replace(
            config,
            start_utc=counted_from - timedelta(days=warm),
            days=days + warm,
            home_id=f"{config.home_id}#{k}",
            warmup_until_utc=_counted_day_start(counted_from) if warm else None,
            warmup_cadence=Cadence(warmup_cadence or config.warmup_cadence),
        )
        chunks.append(Chunk(chunk_config, counted_from, counted_from + timedelta(days=days)))
    return chunks


def _counted_day_start(counted_from_utc: datetime) -> datetime:
    """The earlier of ``counted_from_utc`` and the UK local midnight of its day [UTC]."""
    local = counted_from_utc.astimezone(UK)
    midnight = datetime.combine(local.date(), time(0), tzinfo=UK).astimezone(UTC)
    return min(counted_from_utc, midnight)


def run_chunked(
    config: BacktestConfig,
    strategies: Sequence[str] = ("planner", "naive"),
    *,
    chunk_days: int = 30,
    warmup_days: int = 1,
    cadence: Cadence | str = Cadence.HOURLY,
    scheduler: str | ClusterAccess | None = None,
    workers: int | None = None,
    progress: bool = True,
    warmup_cadence: Cadence | str | None = None,
) -> BacktestResults:
    """Run ``strategies`` over ``config``'s period as parallel chunks (module docstring) and
    merge each strategy's chunks into one run of the whole period."""
    chunks = split_period(config, chunk_days, warmup_days, warmup_cadence)
    results = run_many(
        [c.config for c in chunks],
        strategies,
        cadence=cadence,
        scheduler=scheduler,
        workers=workers,
        progress=progress,
    )
    by_home = {c.config.home_id: c for c in chunks}
    merged = [
        merge_chunk_runs(
            [r for r in results.runs if r.strategy == name],
            by_home,
            home_id=config.home_id,
        )
        for name in strategies
    ]
    return results_for(merged, config, results.data_report)


def merge_chunk_runs(
    runs: Sequence[RunResult], chunks: dict[str, Chunk], *, home_id: str
) -> RunResult:
    """One strategy's chunk runs as one run: the counted days and slots of each, in order."""
    if not runs:
        raise ValueError("no runs to merge")
    ordered = sorted(runs, key=lambda r: chunks[r.home].counted_from_utc)
    rows_by_day: dict[date, dict[str, object]] = {}
    slot_parts: list[pd.DataFrame] = []
    for i, run in enumerate(ordered):
        chunk = chunks[run.home]
        following = chunks[ordered[i + 1].home] if i + 1 < len(ordered) else None
        for row in run.daily:
            day = row["day"]
            assert isinstance(day, date)
            if not _counts(chunk, following, day):
                continue
            known = rows_by_day.get(day)
            if known is None:
                rows_by_day[day] = dict(row)
            else:  # a day split between two chunks (no warm-up, or a chunk edge after midnight)
                for k in ENERGY_KEYS:
                    known[k] = _number(known[k]) + _number(row[k])
                known["peak_import_kw"] = max(
                    _number(known["peak_import_kw"]), _number(row["peak_import_kw"])
                )
        if run.slots is not None:
            index = run.slots.index
            keep = (index >= chunk.counted_from_utc) & (index < chunk.counted_until_utc)
            slot_parts.append(run.slots[keep])
    daily = [rows_by_day[d] for d in sorted(rows_by_day)]
    totals = {k: sum((_number(row[k]) for row in daily), 0.0) for k in ENERGY_KEYS}
    totals["peak_import_kw"] = max((_number(row["peak_import_kw"]) for row in daily), default=0.0)
    return RunResult(
        strategy=ordered[0].strategy,
        totals=totals,
        daily=daily,
        plans=sum(r.plans for r in ordered),
        plans_time_limited=sum(r.plans_time_limited for r in ordered),
        plans_fallback=sum(r.plans_fallback for r in ordered),
        plans_kept_model=sum(r.plans_kept_model for r in ordered),
        planning_s=sum(r.planning_s for r in ordered),
        wall_s=max(r.wall_s for r in ordered),
        forecast_s=sum(r.forecast_s for r in ordered),
        slots=pd.concat(slot_parts) if slot_parts else None,
        home=home_id,
    )


def _counts(chunk: Chunk, following: Chunk | None, day: date) -> bool:
    """Whether ``chunk``'s row for local ``day`` counts: its own days, and the part of its
    end day it ran when the next chunk starts after that day's local midnight."""
    if day < chunk.first_day:
        return False  # warm-up
    if following is None or day < chunk.end_day:
        return True
    if day > chunk.end_day:
        return False
    next_start_local = following.config.start_utc.astimezone(UK)
    return next_start_local.date() == day and next_start_local.time() != time(0)


def _number(value: object) -> float:
    """A daily row's KPI (stored as ``object`` beside the row's day and strategy)."""
    if not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {value!r}")
    return float(value)
