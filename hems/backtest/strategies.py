"""The strategies a backtest compares.

* ``planner``: the service's planning code (:func:`hems.problem_builder.build_problem` and
  :func:`optimiser.optimise`) on the forecast market, re-planning at a cadence and a minute
  after a car plugs in or leaves; each slot the service's own dispatch step decides the
  setpoints from the plan and sends them through its safeguards (randomised EV delay, ramps:
  :mod:`hems.backtest.service_dispatch`).
* ``perfect_foresight``: the same code shown the actuals and the car's future stays, one plan
  over the whole period (the bound); :class:`PlannerStrategy` can also roll with actuals.
* ``naive``: :func:`hems.simulation.baseline.run_naive` (EV charges on plug-in, thermostat heat
  pump, battery idle).
* ``ev_cheap_window``: as ``naive``, but the EV charges only in a fixed local window.
* ``battery_self_consumption``: as ``naive``, and the battery charges from surplus and
  discharges to cover the site's demand (no grid charging, no export), re-set every 5 minutes.
* ``battery_timer``: as ``naive``, and the battery charges at full power in a local window
  (default 00:30-04:30) and covers the site's demand in another (default 16:00-19:00).
"""

from __future__ import annotations

import random
import time as wallclock
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

from hems.backtest.config import BacktestConfig, Cadence
from hems.backtest.engine import RunContext, Strategy
from hems.backtest.foresight_drift import DRIFT_TOLERANCE_K, building_colder_than_planned
from hems.backtest.service_dispatch import ServiceDispatch
from hems.domain.devices import EvChargerSpec
from hems.domain.preferences import NextTrip, Preferences
from hems.problem_builder import (
    PEAK_PENALTY_GBP_PER_KWH,
    PeakHoursRule,
    PlanInputs,
    build_problem,
    next_departure,
    peak_slots,
)
from hems.simulation.baseline import apply_naive, run_naive
from hems.simulation.devices import SimulatedBattery, SimulatedEvCharger, SimulatedPv
from hems.simulation.home import MAX_STEP
from kernel.devices import DeviceState, Setpoint
from optimiser import (
    CacheStats,
    DsrRequest,
    ElectricVehicle,
    ModelCache,
    ModelExtension,
    ModeMemory,
    Plan,
    PlugInSession,
    Problem,
    SolverOptions,
    TimeGrid,
    collection_deferred,
    optimise,
)

UK = ZoneInfo("Europe/London")
STRATEGY_NAMES = (
    "planner",
    "perfect_foresight",
    "naive",
    "ev_cheap_window",
    "battery_self_consumption",
    "battery_timer",
    "ev_window_battery_timer",
)
BASELINE_NAMES = (
    "naive",
    "ev_cheap_window",
    "battery_self_consumption",
    "battery_timer",
    "ev_window_battery_timer",
)
"""The rule-based strategies (no plans)."""
_INTERVALS = {
    Cadence.HOURLY: timedelta(hours=1),
    Cadence.DAILY: timedelta(days=1),
}


def _interval(cadence: Cadence, cfg: BacktestConfig) -> timedelta:
    """How long a plan at ``cadence`` stands (one slot at ``Cadence.SLOT``)."""
    return cfg.slot if cadence is Cadence.SLOT else _INTERVALS[cadence]


@dataclass
class PlannerStrategy:
    """Plan with the service's code, dispatch the current slot.

    Attributes:
        cadence: when to re-plan (besides a car plugging in or leaving); ``ONCE`` plans the
            whole period (plus the horizon) in one go.
        perfect_foresight: plan on the actuals and the car's actual future stays.
        drift_tolerance_k: also re-plan at a slot start where a heat pump's building is more
            than this colder than the plan said (:mod:`hems.backtest.foresight_drift`: the
            bound's plans, made daily, otherwise carry the dispatch's heat losses for a day);
            None: never.
    """

    cadence: Cadence = Cadence.SLOT
    perfect_foresight: bool = False
    name: str = "planner"
    drift_tolerance_k: float | None = None
    _schedule: pd.DataFrame | None = field(default=None, init=False, repr=False)
    _planned_at: datetime | None = field(default=None, init=False, repr=False)
    _plugged: dict[str, bool] = field(default_factory=dict, init=False, repr=False)
    _memory: ModeMemory = field(default_factory=ModeMemory, init=False, repr=False)
    _dispatch_state: ServiceDispatch | None = field(default=None, init=False, repr=False)
    _models: ModelCache | None = field(default=None, init=False, repr=False)

    async def step(self, ctx: RunContext, now_utc: datetime, end_utc: datetime) -> None:
        states = {name: await d.read_state() for name, d in ctx.sim.devices.items()}
        plugged = _plugged_in(states)
        # the car's comings and goings are news only to a planner that does not foresee them
        news = plugged != self._plugged and not self.perfect_foresight
        if self._due(now_utc, ctx.config) or news or self._drifted(ctx, now_utc, states):
            self._replan(ctx, now_utc, states)
            self._planned_at = now_utc
        self._plugged = plugged
        await self._dispatch(ctx, now_utc)
        notice = ctx.config.plug_notice_minutes
        if self.perfect_foresight or notice is None:
            await self._dispatcher(ctx).run_until(ctx, end_utc)
            return
        # the service re-plans within its telemetry's minute of a car coming or going
        delay = timedelta(minutes=notice)
        while True:
            event = _next_plug_event(ctx, ctx.sim.now_utc, end_utc - delay)
            await self._dispatcher(ctx).run_until(ctx, end_utc if event is None else event + delay)
            if event is None:
                return
            ctx.sim.advance(event + delay)
            at = ctx.sim.now_utc
            states = {name: await d.read_state() for name, d in ctx.sim.devices.items()}
            self._replan(ctx, at, states)
            self._plugged = _plugged_in(states)
            await self._dispatch(ctx, at)

    def _drifted(self, ctx: RunContext, now_utc: datetime, states: dict[str, DeviceState]) -> bool:
        """Whether the building is colder than the current plan said (``drift_tolerance_k``)."""
        if self.drift_tolerance_k is None or self._schedule is None:
            return False
        cfg = ctx.config
        return building_colder_than_planned(
            cfg.home, self._schedule, states, now_utc, cfg.slot, self.drift_tolerance_k
        )

    def _replan(self, ctx: RunContext, now_utc: datetime, states: dict[str, DeviceState]) -> None:
        started = wallclock.perf_counter()
        hits = 0 if self._models is None else self._models.hits
        with collection_deferred():  # one collection after the plan, not several during it
            plan = self._plan(ctx, now_utc, states)
        self._schedule = plan.schedule
        ctx.planning_s += wallclock.perf_counter() - started
        ctx.count_plan(plan.status)
        if self._models is not None and self._models.hits > hits:
            ctx.plans_kept_model += 1

    def _dispatcher(self, ctx: RunContext) -> ServiceDispatch:
        """The service's dispatch for this run (its delays drawn from the run's seed), with the
        safeguards the run is configured with, for the perfect-foresight bound too: the EV's
        randomised delay is a rule every compliant CEM works under, so the bound plans with
        its expected cost (``Problem.ev_dispatch_lag``, targets against the longest delay) and
        is dispatched through the same draws. Without the safeguards it was the bill of a home
        free of the regulations (30 days of docs/backtest.md: 47.619 against 48.817 GBP)."""
        if self._dispatch_state is None:
            self._dispatch_state = ServiceDispatch(
                safeguards=ctx.config.safeguards, rng=random.Random(ctx.config.seed)
            )
        return self._dispatch_state

    async def _dispatch(self, ctx: RunContext, now_utc: datetime) -> None:
        """Decide the setpoints of the slot holding ``now_utc`` from the plan and send those
        due, as the service's controller does (:class:`ServiceDispatch`)."""
        assert self._schedule is not None
        cfg = ctx.config
        dsr_active = any(e.start_utc <= now_utc < e.end_utc for e in cfg.dsr_events)
        await self._dispatcher(ctx).decide(ctx, self._schedule, now_utc, dsr_active)

    def _due(self, now: datetime, cfg: BacktestConfig) -> bool:
        if self._planned_at is None or self.cadence is Cadence.ONCE:
            return self._planned_at is None
        interval = _interval(self.cadence, cfg)
        warm_until = cfg.warmup_until_utc
        if warm_until is not None:
            if now < warm_until:  # warming up: at the slower of the two cadences, but never
                # past the plan's horizon (the last slot's setpoints would hold for hours)
                horizon = timedelta(hours=self._horizon_hours(cfg))
                interval = max(interval, min(_interval(cfg.warmup_cadence, cfg), horizon))
            elif self._planned_at < warm_until:
                return True  # the first counted slot starts from a plan of its own
        return now - self._planned_at >= interval

    def _horizon_hours(self, cfg: BacktestConfig) -> float:
        """How far a rolling plan of this strategy reaches [h]."""
        return float(cfg.foresight_horizon_hours if self.perfect_foresight else cfg.horizon_hours)

    def _plan(self, ctx: RunContext, now: datetime, states: dict[str, DeviceState]) -> Plan:
        cfg = ctx.config
        hours = float(cfg.horizon_hours)
        if self.cadence is Cadence.ONCE:  # the period, and the planner's tail after it
            hours += (cfg.end_utc - now).total_seconds() / 3600
        else:  # rolling, the planner's or the bound's own horizon
            hours = self._horizon_hours(cfg)
        grid = TimeGrid.starting_at(now, step_minutes=cfg.slot_minutes, horizon_hours=hours)
        source = ctx.actuals if self.perfect_foresight else cfg.market
        started = wallclock.perf_counter()
        market = source.series(grid, cfg.home)
        ctx.forecast_s += wallclock.perf_counter() - started
        inputs = PlanInputs(
            home=cfg.home,
            preferences=self._preferences(ctx, now),
            states=states,
            market=market,
            grid=grid,
            now_utc=now,
            dsr_requests=self._dsr_known(cfg, grid, now),
            # the plan counts the safeguards it is dispatched under
            safeguards=self._dispatcher(ctx).safeguards,
            load_spread_cover=0.0 if self.perfect_foresight else cfg.load_spread_cover,
        )
        problem, extensions = build_problem(inputs)
        if self.perfect_foresight:
            problem, extensions = _with_known_stays(ctx, problem, extensions, now)
        models = self._model_cache(cfg)
        return optimise(problem, self._solver(cfg), extensions, self._memory, models=models)

    def _model_cache(self, cfg: BacktestConfig) -> ModelCache | None:
        """This strategy's kept models (``cfg.model_cache_shapes``; None for 0), made at its
        first plan. Its own, not the process's: a Dask worker runs several strategies' chunks
        one after another, and a kept model's first LP starts from the basis its last plan
        ended with; a cache of the run's own keeps each run's plans (and bills) independent
        of what the worker ran before, and its models are freed with the run."""
        if cfg.model_cache_shapes == 0:
            return None
        if self._models is None:
            self._models = ModelCache(cfg.model_cache_shapes)
        return self._models

    @property
    def model_cache_stats(self) -> CacheStats | None:
        """The kept models' figures (hits, misses, shapes not covered), None before a plan
        through them."""
        return None if self._models is None else self._models.stats()

    def _solver(self, cfg: BacktestConfig) -> SolverOptions:
        """The bound solves to ``cfg.solver``'s gap; the planner with forecasts to its own."""
        if self.perfect_foresight or cfg.planner_mip_rel_gap is None:
            return cfg.solver
        return replace(cfg.solver, mip_rel_gap=cfg.planner_mip_rel_gap)

    def _preferences(self, ctx: RunContext, now: datetime) -> Preferences:
        """The consumer's wishes at ``now``: with ``departures_told``, the end of the car's
        current stay as a one-off trip (what the consumer enters at plug-in)."""
        prefs = ctx.config.preferences
        if not ctx.config.departures_told or self.perfect_foresight:
            return prefs
        for device in ctx.sim.devices.values():
            if isinstance(device, SimulatedEvCharger):
                stay = next((s for s in device.stays if s.arrive_utc <= now < s.leave_utc), None)
                if stay is not None:
                    wish = next_departure(prefs, stay.leave_utc - timedelta(minutes=1))
                    target = wish[1] if wish is not None else 0.8
                    trip = NextTrip(leave_at=stay.leave_utc, target_soc=max(0.1, target))
                    return prefs.model_copy(update={"ev_next_trip": trip})
        return prefs

    def _dsr_known(self, cfg: BacktestConfig, grid: TimeGrid, now: datetime) -> list[DsrRequest]:
        """The DSR events the planner knows of at ``now`` that overlap the grid: announced
        ``dsr_notice_hours`` before their start (all of them with perfect foresight)."""
        notice = timedelta(hours=cfg.dsr_notice_hours)
        return [
            e
            for e in cfg.dsr_events
            if e.end_utc > now
            and e.start_utc < grid.end_utc
            and (self.perfect_foresight or e.start_utc - notice <= now)
        ]


def _plugged_in(states: dict[str, DeviceState]) -> dict[str, bool]:
    """Whether each charger's car is plugged in (devices that do not say are left out)."""
    return {n: bool(s.plugged_in) for n, s in states.items() if s.plugged_in is not None}


def _next_plug_event(ctx: RunContext, after_utc: datetime, before_utc: datetime) -> datetime | None:
    """The first moment in ``(after_utc, before_utc)`` a car plugs in or leaves, or None: what
    the service's telemetry tells it within a minute (the simulated charger's stays)."""
    moments = [
        t
        for device in ctx.sim.devices.values()
        if isinstance(device, SimulatedEvCharger)
        and (t := device.next_plug_event(after_utc)) is not None
        and t < before_utc
    ]
    return min(moments, default=None)


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
        kept.append(
            PeakHoursRule(
                slots=peak_slots(grid),
                assets={e.name for e in evs},
                gbp_per_kwh=PEAK_PENALTY_GBP_PER_KWH,
            )
        )
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
        inside = _inside(now_utc.astimezone(UK).time(), self.start_local, self.end_local)
        return super().ev_target(ctx, now_utc) if inside else 0.0


def _inside(local: time, start: time, end: time) -> bool:
    """``local`` in ``[start, end)``, a window that may wrap midnight."""
    return start <= local < end if start <= end else local >= start or local < end


@dataclass
class BatterySelfConsumptionStrategy(NaiveStrategy):
    """As :class:`NaiveStrategy` for the EV and heat pump (set once per slot); every 5 minutes
    the battery is set against the site's demand at that moment (base load, EV, heat pump
    minus PV): charge from surplus, discharge to cover a deficit, never from or to the grid
    on purpose (its power and SoC limits are the simulated battery's)."""

    name: str = "battery_self_consumption"

    async def step(self, ctx: RunContext, now_utc: datetime, end_utc: datetime) -> None:
        sim = ctx.sim
        await apply_naive(
            sim,
            tick=end_utc - now_utc,
            ev_target_soc=self.ev_target(ctx, now_utc),
            comfort_min_c=ctx.comfort_min_c,
        )
        while sim.now_utc < end_utc:
            at = sim.now_utc
            for device in sim.devices.values():
                if isinstance(device, SimulatedBattery):
                    await device.apply(Setpoint(power_kw=self.battery_kw(ctx, at, device)))
            sim.advance(min(end_utc, at + MAX_STEP))

    def battery_kw(self, ctx: RunContext, at: datetime, battery: SimulatedBattery) -> float:
        """The battery's setpoint [kW] (+ charges): minus the rest of the site's demand."""
        return -_demand_without_batteries_kw(ctx, at)


@dataclass
class BatteryTimerStrategy(BatterySelfConsumptionStrategy):
    """As :class:`NaiveStrategy`, with a battery on a timer: full charging power in the local
    charge window, covering the site's demand (no export) in the discharge window, idle else."""

    charge_local: tuple[time, time] = (time(0, 30), time(4, 30))
    discharge_local: tuple[time, time] = (time(16, 0), time(19, 0))
    name: str = "battery_timer"

    def battery_kw(self, ctx: RunContext, at: datetime, battery: SimulatedBattery) -> float:
        local = at.astimezone(UK).time()
        if _inside(local, *self.charge_local):
            return battery.max_charge_kw
        if _inside(local, *self.discharge_local):
            return -max(0.0, _demand_without_batteries_kw(ctx, at))
        return 0.0


@dataclass
class EvWindowBatteryTimerStrategy(BatteryTimerStrategy, EvWindowStrategy):
    """The timers a well-set-up Agile home runs: the car charges in the cheap night window
    (:class:`EvWindowStrategy`) and the battery charges in its window and covers the evening
    peak (:class:`BatteryTimerStrategy`); thermostat heat pump."""

    name: str = "ev_window_battery_timer"


def _demand_without_batteries_kw(ctx: RunContext, at: datetime) -> float:
    """The site's power without its batteries at ``at`` [kW] (+ imports): actual base load and
    PV (from the actuals, as a meter would see them), EV and heat pump at their setpoints."""
    env = ctx.sim.environment(at)
    total = env.base_load_kw
    for device in ctx.sim.devices.values():
        if isinstance(device, SimulatedPv):
            total -= device.peak_kw * env.pv_kw_per_kwp
        elif not isinstance(device, SimulatedBattery):
            total += device.power_kw()
    return total


def strategy_named(
    name: str, config: BacktestConfig, cadence: Cadence = Cadence.HOURLY
) -> Strategy:
    """A strategy by its CLI name (:data:`STRATEGY_NAMES`); ``cadence`` is the planner's."""
    if name == "planner":
        return PlannerStrategy(cadence=cadence)
    if name == "perfect_foresight":
        # one MILP over a long period is too large: beyond a few days it rolls daily on actuals
        once = config.days <= config.foresight_once_max_days
        rolling = Cadence.ONCE if once else config.foresight_cadence
        return PlannerStrategy(
            cadence=rolling,
            perfect_foresight=True,
            name=name,
            drift_tolerance_k=DRIFT_TOLERANCE_K,
        )
    if name == "naive":
        return NaiveStrategy()
    if name == "ev_cheap_window":
        start, end = (time.fromisoformat(t) for t in config.ev_window_local)
        return EvWindowStrategy(start_local=start, end_local=end)
    if name == "battery_self_consumption":
        return BatterySelfConsumptionStrategy()
    if name == "battery_timer":
        c0, c1, d0, d1 = (time.fromisoformat(t) for t in config.battery_timer_local)
        return BatteryTimerStrategy(charge_local=(c0, c1), discharge_local=(d0, d1))
    if name == "ev_window_battery_timer":
        start, end = (time.fromisoformat(t) for t in config.ev_window_local)
        c0, c1, d0, d1 = (time.fromisoformat(t) for t in config.battery_timer_local)
        return EvWindowBatteryTimerStrategy(
            start_local=start, end_local=end, charge_local=(c0, c1), discharge_local=(d0, d1)
        )
    raise ValueError(f"unknown strategy {name!r}; choose from {', '.join(STRATEGY_NAMES)}")
