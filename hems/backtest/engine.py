"""Replay one strategy over the period, slot by slot, on the simulated home's own clock.

At each slot start the strategy reads the devices and sets their powers (planning first when it
is time to), then the simulated home (:mod:`hems.simulation`, the service's device physics and
meter) runs to the next slot. Every strategy meets the same actuals (:func:`actual_market`) and
the same car arrivals (seeded). Per-day figures are closed at each UK local midnight.
"""

from __future__ import annotations

import asyncio
import time as wallclock
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import pandas as pd

from hems.backtest.config import BacktestConfig
from hems.backtest.markets import actual_market
from hems.market import ReplayedMarket
from hems.problem_builder import next_departure
from hems.simulation.devices import SimulatedBattery, SimulatedEvCharger
from hems.simulation.home import SimulatedHome, simulate_home
from optimiser import PlanStatus

UK = ZoneInfo("Europe/London")

Progress = Callable[[], None]
"""Called once per simulated slot (progress bars)."""


@dataclass
class RunContext:
    """What a strategy may use while it runs: the config, the simulated home (its devices and
    meter) and the actuals (only the perfect-foresight planner looks at them)."""

    config: BacktestConfig
    sim: SimulatedHome
    actuals: ReplayedMarket
    plans: int = 0
    plans_time_limited: int = 0
    plans_fallback: int = 0
    plans_kept_model: int = 0
    planning_s: float = 0.0
    forecast_s: float = 0.0

    def count_plan(self, status: PlanStatus) -> None:
        """Count a plan, and whether the solver stopped at its time limit (a solution, maybe
        not optimal: for the perfect-foresight run, a looser bound) or gave none (the
        rule-based plan)."""
        self.plans += 1
        if status is PlanStatus.TIME_LIMIT:
            self.plans_time_limited += 1
        elif status is PlanStatus.FALLBACK:
            self.plans_fallback += 1

    def comfort_min_c(self, at_utc: datetime) -> float:
        return self.config.preferences.comfort_min_at(at_utc.astimezone(UK))


class Strategy(Protocol):
    name: str

    async def step(self, ctx: RunContext, now_utc: datetime, end_utc: datetime) -> None:
        """Set the devices for the slot ``[now_utc, end_utc)``; may advance ``ctx.sim``."""
        ...


@dataclass
class RunResult:
    """One strategy's run: totals, one dict per local day, and the planner's effort."""

    strategy: str
    totals: dict[str, float]
    daily: list[dict[str, object]] = field(default_factory=list)
    plans: int = 0
    planning_s: float = 0.0
    wall_s: float = 0.0
    forecast_s: float = 0.0
    slots: pd.DataFrame | None = None
    plans_time_limited: int = 0
    plans_fallback: int = 0
    home: str = "home"
    plans_kept_model: int = 0
    """Plans through a model kept from an earlier plan (``BacktestConfig.model_cache_shapes``)."""


SLOT_COLUMNS = (
    "slot_start_utc",
    "import_kwh",
    "export_kwh",
    "bill_gbp",
    "carbon_kg",
    "import_price_gbp_per_kwh",
    "battery_soc_pct",
)
"""Per-slot meter readings of a run (energies kWh, money GBP, carbon kg), the slot's actual
import price and the batteries' state of charge at its end (NaN without a battery), for
``hems backtest --plot``."""

ENERGY_KEYS = (
    "bill_gbp",
    "import_kwh",
    "export_kwh",
    "carbon_kg",
    "comfort_deficit_kelvin_hours",
    "ev_short_kwh",
    "ev_departures",
    "battery_throughput_kwh",
)


def run_strategy(
    config: BacktestConfig, strategy: Strategy, *, progress: Progress | None = None
) -> RunResult:
    """Run ``strategy`` over ``config``'s period (blocking). Inside a running event loop (a
    notebook) the run gets its own loop in a worker thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_run(config, strategy, progress))
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _run(config, strategy, progress)).result()


async def _run(config: BacktestConfig, strategy: Strategy, progress: Progress | None) -> RunResult:
    started = wallclock.perf_counter()
    ctx = _run_context(config)
    sim = ctx.sim
    daily: list[dict[str, object]] = []
    day_start = _snapshot(ctx)
    day = config.start_utc.astimezone(UK).date()
    peak = 0.0
    now = config.start_utc
    slot_rows: list[tuple[datetime, float, float, float, float, float, float]] = []
    while now < config.end_utc:
        end = min(now + config.slot, config.end_utc)
        m = sim.meter
        before = (m.import_kwh, m.export_kwh, m.bill_gbp, m.carbon_kg)
        await strategy.step(ctx, now, end)
        if sim.now_utc < end:
            sim.advance(end)
        slot_rows.append(
            (
                now,
                m.import_kwh - before[0],
                m.export_kwh - before[1],
                m.bill_gbp - before[2],
                m.carbon_kg - before[3],
                ctx.actuals.at(pd.Timestamp(now))["import_price_gbp_per_kwh"],
                _battery_soc_pct(ctx),
            )
        )
        now = end
        if progress is not None:
            progress()
        if now.astimezone(UK).date() != day or now >= config.end_utc:
            snap = _snapshot(ctx)
            row: dict[str, object] = {"strategy": strategy.name, "day": day}
            row.update({k: snap[k] - day_start[k] for k in ENERGY_KEYS})
            row["peak_import_kw"] = sim.meter.peak_import_kw
            peak = max(peak, sim.meter.peak_import_kw)
            sim.meter.peak_import_kw = 0.0
            daily.append(row)
            day_start, day = snap, now.astimezone(UK).date()
    totals = _snapshot(ctx)
    totals["peak_import_kw"] = peak
    return RunResult(
        strategy=strategy.name,
        totals=totals,
        daily=daily,
        plans=ctx.plans,
        plans_time_limited=ctx.plans_time_limited,
        plans_fallback=ctx.plans_fallback,
        plans_kept_model=ctx.plans_kept_model,
        planning_s=ctx.planning_s,
        forecast_s=ctx.forecast_s,
        wall_s=wallclock.perf_counter() - started,
        slots=pd.DataFrame(slot_rows, columns=list(SLOT_COLUMNS)).set_index("slot_start_utc"),
        home=config.home_id,
    )


def _run_context(config: BacktestConfig) -> RunContext:
    """A fresh simulated home on the actuals, at the period's start."""
    actuals = actual_market(config)
    ctx = RunContext(config=config, sim=_simulated_home(config, actuals), actuals=actuals)
    ctx.sim.comfort_min_c = ctx.comfort_min_c
    return ctx


def _simulated_home(config: BacktestConfig, actuals: ReplayedMarket) -> SimulatedHome:
    sim = simulate_home(
        config.home, config.start_utc, days=config.days, seed=config.seed, market=actuals
    )
    if config.ev_stays is not None:
        stays = sorted(config.ev_stays, key=lambda s: s.arrive_utc)
        here = next((s for s in stays if s.arrive_utc <= config.start_utc < s.leave_utc), None)
        for device in sim.devices.values():
            if isinstance(device, SimulatedEvCharger):
                device.stays = list(stays)
                device.soc = here.arrival_soc if here else 0.5
    sim.noise = 0.0  # the actuals carry the noise already, drawn once per slot
    return sim


def _snapshot(ctx: RunContext) -> dict[str, float]:
    m = ctx.sim.meter
    ev_short, departures = 0.0, 0
    throughput = 0.0
    for device in ctx.sim.devices.values():
        if isinstance(device, SimulatedEvCharger):
            for leave, soc in device.departures:
                departures += 1
                ev_short += max(0.0, _target_soc(ctx, leave) - soc) * device.capacity_kwh
        elif isinstance(device, SimulatedBattery):
            throughput += device.throughput_kwh
    return {
        "bill_gbp": m.bill_gbp,
        "import_kwh": m.import_kwh,
        "export_kwh": m.export_kwh,
        "carbon_kg": m.carbon_kg,
        "comfort_deficit_kelvin_hours": m.comfort_deficit_kelvin_hours,
        "ev_short_kwh": ev_short,
        "ev_departures": float(departures),
        "battery_throughput_kwh": throughput,
    }


def _battery_soc_pct(ctx: RunContext) -> float:
    """The batteries' stored energy as a share of their capacity [%] (NaN without one)."""
    batteries = [d for d in ctx.sim.devices.values() if isinstance(d, SimulatedBattery)]
    capacity = sum(b.capacity_kwh for b in batteries)
    if not capacity:
        return float("nan")
    return 100.0 * sum(b.soc * b.capacity_kwh for b in batteries) / capacity


def _target_soc(ctx: RunContext, leave_utc: datetime) -> float:
    """The SoC the consumer wanted at a departure (their wish for that departure time)."""
    wish = next_departure(ctx.config.preferences, leave_utc - timedelta(minutes=1))
    return wish[1] if wish is not None else 0.0
