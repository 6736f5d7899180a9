"""The strategies a backtest compares.

* ``planner``: the service's planning code (:func:`hems.problem_builder.build_problem` and
  :func:`optimiser.optimise`) on the forecast market, re-planning at a cadence and whenever the
  car plugs in or leaves; each slot the plan's powers for that slot go to the devices.
* ``perfect_foresight``: the same code shown the actuals and the car's future stays, one plan
  over the whole period (the bound); :class:`PlannerStrategy` can also roll with actuals.
* ``naive``: :func:`hems.simulation.baseline.run_naive` (EV charges on plug-in, thermostat heat
  pump, battery idle).
* ``ev_cheap_window``: as ``naive``, but the EV charges only in a fixed local window.
"""

from __future__ import annotations

import time as wallclock
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

from adapters.devices.driver import DeviceState, Setpoint
from hems.backtest.config import BacktestConfig, Cadence
from hems.backtest.engine import RunContext, Strategy
from hems.dispatch import planned_powers
from hems.domain.devices import EvChargerSpec
from hems.problem_builder import (
    PeakHoursRule,
    PlanInputs,
    build_problem,
    next_departure,
    peak_slots,
)
from hems.simulation.baseline import run_naive
from hems.simulation.devices import SimulatedEvCharger
from optimiser import ElectricVehicle, ModelExtension, PlugInSession, Problem, TimeGrid, optimise

UK = ZoneInfo("Europe/London")
STRATEGY_NAMES = ("planner", "perfect_foresight", "naive", "ev_cheap_window")
_INTERVALS = {
    Cadence.HOURLY: timedelta(hours=1),
    Cadence.DAILY: timedelta(days=1),
}


@dataclass
class PlannerStrategy:
    """Plan with the service's code, dispatch the current slot.

    Attributes:
        cadence: when to re-plan (besides a car plugging in or leaving); ``ONCE`` plans the
            whole period (plus the horizon) in one go.
        perfect_foresight: plan on the actuals and the car's actual future stays.
    """

    cadence: Cadence = Cadence.SLOT
    perfect_foresight: bool = False
    name: str = "planner"
    _schedule: pd.DataFrame | None = field(default=None, init=False, repr=False)
    _planned_at: datetime | None = field(default=None, init=False, repr=False)
    _plugged: dict[str, bool] = field(default_factory=dict, init=False, repr=False)

    async def step(self, ctx: RunContext, now_utc: datetime, end_utc: datetime) -> None:
        states = {name: await d.read_state() for name, d in ctx.sim.devices.items()}
        plugged = {n: bool(s.plugged_in) for n, s in states.items() if s.plugged_in is not None}
        if self._due(now_utc) or (plugged != self._plugged and self.cadence is not Cadence.ONCE):
            started = wallclock.perf_counter()
            self._schedule = self._plan(ctx, now_utc, states).schedule
            ctx.planning_s += wallclock.perf_counter() - started
            ctx.plans += 1
            self._planned_at = now_utc
        self._plugged = plugged
        assert self._schedule is not None
        for name, kw in planned_powers(self._schedule, ctx.config.home, now_utc).items():
            device = ctx.sim.devices.get(name)
            if device is not None:
                await device.apply(Setpoint(power_kw=kw))

    def _due(self, now: datetime) -> bool:
        if self._planned_at is None or self.cadence is Cadence.SLOT:
            return True
        if self.cadence is Cadence.ONCE:
            return False
        return now - self._planned_at >= _INTERVALS[self.cadence]

    def _plan(self, ctx: RunContext, now: datetime, states: dict[str, DeviceState]) -> _Planned:
        cfg = ctx.config
        hours = float(cfg.horizon_hours)
        if self.cadence is Cadence.ONCE:
            hours += (cfg.end_utc - now).total_seconds() / 3600
        grid = TimeGrid.starting_at(now, step_minutes=cfg.slot_minutes, horizon_hours=hours)
        source = ctx.actuals if self.perfect_foresight else cfg.market
        inputs = PlanInputs(
            home=cfg.home,
            preferences=cfg.preferences,
            states=states,
            market=source.series(grid, cfg.home),
            grid=grid,
            now_utc=now,
        )
        problem, extensions = build_problem(inputs)
        if self.perfect_foresight:
            problem, extensions = _with_known_stays(ctx, problem, extensions, now)
        return _Planned(optimise(problem, cfg.solver, extensions).schedule)


@dataclass(frozen=True, slots=True)
class _Planned:
    schedule: pd.DataFrame


def _with_known_stays(
    ctx: RunContext, problem: Problem, extensions: list[ModelExtension], now: datetime
) -> tuple[Problem, list[ModelExtension]]:
    """Replace each EV's single current session by every stay the car will actually make."""
    cfg, grid = ctx.config, problem.grid
    evs = []
    for spec in cfg.home.devices:
        device = ctx.sim.devices.get(spec.name)
        if not isinstance(spec, EvChargerSpec) or not isinstance(device, SimulatedEvCharger):
            continue
        sessions = []
        for stay in device.stays:
            if stay.leave_utc <= now or stay.arrive_utc >= grid.end_utc:
                continue
            here = stay.arrive_utc <= now
            soc = device.soc if here else stay.arrival_soc
            wish = next_departure(cfg.preferences, stay.leave_utc - timedelta(minutes=1))
            target = wish[1] if wish is not None else soc
            sessions.append(
                PlugInSession(
                    arrival_utc=grid.start_utc if here else stay.arrive_utc,
                    departure_utc=stay.leave_utc,
                    arrival_soc=soc,
                    target_soc=max(target, soc),
                )
            )
        evs.append(
            ElectricVehicle(
                name=spec.name,
                battery_capacity_kwh=spec.vehicle_capacity_kwh,
                min_charge_kw=spec.min_charge_kw,
                max_charge_kw=spec.max_charge_kw,
                charge_efficiency=spec.charge_efficiency,
                sessions=tuple(sessions),
            )
        )
    kept = [e for e in extensions if not isinstance(e, PeakHoursRule)]
    if evs and not cfg.preferences.ev_allow_peak_charging:
        kept.append(PeakHoursRule(slots=peak_slots(grid), assets={e.name for e in evs}))
    return replace(problem, evs=tuple(evs)), kept


@dataclass
class NaiveStrategy:
    """The naive home: :func:`hems.simulation.baseline.run_naive`, one decision per slot."""

    name: str = "naive"

    async def step(self, ctx: RunContext, now_utc: datetime, end_utc: datetime) -> None:
        await run_naive(
            ctx.sim,
            end_utc,
            tick=end_utc - now_utc,
            ev_target_soc=self.ev_target(ctx, now_utc),
            comfort_min_c=ctx.comfort_min_c,
        )

    def ev_target(self, ctx: RunContext, now_utc: datetime) -> float:
        wish = next_departure(ctx.config.preferences, now_utc)
        return wish[1] if wish is not None else 1.0


@dataclass
class EvWindowStrategy(NaiveStrategy):
    """As :class:`NaiveStrategy`, but the EV charges only in slots that start inside the local
    window ``[start, end)`` (e.g. 00:30-04:30, a typical cheap night window)."""

    start_local: time = time(0, 30)
    end_local: time = time(4, 30)
    name: str = "ev_cheap_window"

    def ev_target(self, ctx: RunContext, now_utc: datetime) -> float:
        local = now_utc.astimezone(UK).time()
        inside = (
            self.start_local <= local < self.end_local
            if self.start_local <= self.end_local
            else local >= self.start_local or local < self.end_local
        )
        return super().ev_target(ctx, now_utc) if inside else 0.0


def strategy_named(
    name: str, config: BacktestConfig, cadence: Cadence = Cadence.HOURLY
) -> Strategy:
    """A strategy by its CLI name (:data:`STRATEGY_NAMES`); ``cadence`` is the planner's."""
    if name == "planner":
        return PlannerStrategy(cadence=cadence)
    if name == "perfect_foresight":
        return PlannerStrategy(cadence=Cadence.ONCE, perfect_foresight=True, name=name)
    if name == "naive":
        return NaiveStrategy()
    if name == "ev_cheap_window":
        start, end = (time.fromisoformat(t) for t in config.ev_window_local)
        return EvWindowStrategy(start_local=start, end_local=end)
    raise ValueError(f"unknown strategy {name!r}; choose from {', '.join(STRATEGY_NAMES)}")
