"""One home's control loop: read devices, plan, dispatch, apply setpoints.

:class:`HomeController` holds the home's drivers and an asyncio lock, so two plans of one home
never run at once; the solver runs in a worker thread so the event loop (API, other homes)
keeps going. Everything it decides is written to the store before it acts, so a restart picks
up where it stopped: a setpoint already applied is not sent again, one not yet applied is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

import pandas as pd

from adapters.devices.driver import DeviceDriver
from hems.apply_pass import apply_pass
from hems.clock import Clock
from hems.device_capabilities import refresh_capabilities, stored_capabilities
from hems.device_health import DeviceHealth
from hems.dispatch import OverridesInForce, RampLimits
from hems.domain.home import HomeSpec
from hems.drift import drift_reasons
from hems.dsr_events import active_requests, intended_grid_kw, is_active_response
from hems.ev_arrivals import expected_from_log, plug_ins, record_plug_ins, unplugged_evs
from hems.flexibility import FlexibilityProfiles, profile_columns, timing_extensions
from hems.import_guard import TURN_DOWN_REASON, ImportGuard
from hems.kept_home import KeptHome
from hems.made_plan import MadePlan, as_stored, latest_schedule
from hems.market import MarketSource
from hems.plan_job import plan_home
from hems.plan_schedules import DeviceSchedule, device_schedules, leave_schedules
from hems.planner_backend import PlanFailedError, PlannerBackend, by_deadline
from hems.problem_builder import PlanInputs
from hems.saving_sessions import import_rewards
from hems.send_batch import SendBatch
from hems.settings import Settings
from hems.site_guard import SiteMeterRead, guard_tick, with_wanted
from hems.slot_setpoints import Safeguards, slot_setpoints
from hems.storage.setpoint_records import NewDecision, StoredSetpoint
from hems.storage.store import Store
from hems.storage.tables import TelemetryRow
from kernel.devices import DeviceCapabilities, DeviceState, DeviceUnavailableError
from optimiser import (
    DsrRequest,
    ModelExtension,
    ModeMemory,
    Problem,
    SolverOptions,
    TimeGrid,
    optimise,
)

log = logging.getLogger(__name__)


@dataclass
class HomeController:
    home_id: int
    store: Store
    drivers: Mapping[str, DeviceDriver]
    market: MarketSource
    clock: Clock
    settings: Settings
    rng: random.Random = field(default_factory=random.Random)
    states: dict[str, DeviceState] = field(default_factory=dict)
    health: dict[str, DeviceHealth] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    apply_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """One apply pass at a time: the scheduler's apply job and a re-plan's dispatch read the
    same due setpoints, and each would send them."""
    replan_reasons: list[str] = field(default_factory=list)
    last_plan_slot: datetime | None = None
    planner: PlannerBackend | None = None
    """Where plans run (:mod:`hems.planner_backend`; None: a thread of this process)."""
    last_problem: tuple[int, Problem, list[ModelExtension]] | None = None
    mode_memory: ModeMemory = field(default_factory=ModeMemory)  # last plan's modes, tried first
    flexibility_cache: FlexibilityProfiles | None = None
    made: MadePlan | None = None  # the plan it made last (None before its first in this process)
    ramping: set[str] = field(default_factory=set)
    """Devices on their way to a decided setpoint (the last apply sent a ramp step)."""
    unrecorded: SendBatch | None = None
    """The batch holding this home's last pass's sends, recorded when its apply job ends."""
    follow_site: frozenset[str] = frozenset()
    """Batteries whose setpoint in the current slot is a cap that follows the site
    (:func:`hems.dispatch.site_following_batteries`), from the last dispatch."""
    store_surplus: frozenset[str] = frozenset()
    """Batteries that follow the site and store a surplus the plan did not foresee
    (:func:`hems.dispatch.surplus_storing_batteries`), from the last dispatch."""
    schedules: dict[str, DeviceSchedule] = field(default_factory=dict)
    """The plan's next hours for the devices that hold a schedule (:mod:`hems.plan_schedules`),
    from plan ``schedules_plan_id``; ``schedules_due`` until they are sent."""
    schedules_plan_id: int | None = None
    schedules_due: bool = False
    site_meter: SiteMeterRead | None = None  # the import guard's meter (None: no guard)
    guard: ImportGuard = field(default_factory=ImportGuard)  # hems/site_guard.py
    guard_wanted: dict[str, float] = field(default_factory=dict)  # a capped device's plan [kW]
    capabilities: dict[str, DeviceCapabilities] = field(default_factory=dict)  # as stored
    cohort_share: list[DsrRequest] = field(default_factory=list)  # hems/cohort_limit.py
    kept_home: KeptHome | None = None  # the record last read (hems/kept_home.py)

    # -- reading devices ---------------------------------------------------------------------
    async def home(self) -> HomeSpec:
        """The home's record, read and validated from the store: once per control pass, whose
        steps take it as an argument (``home``; None: they read it themselves)."""
        version = self.store.version("home", self.home_id)
        spec = await asyncio.to_thread(self.store.home, self.home_id)
        self.kept_home = KeptHome(spec, self.clock.now(), version)
        return spec

    async def read_states(self, home: HomeSpec | None = None) -> None:
        """Read every device (within the device timeout), record telemetry, then the checks."""
        now, before = self.clock.now(), dict(self.states)
        rows = await self.read_devices(now)
        await asyncio.to_thread(self.store.add_telemetry, self.home_id, rows)
        await self.after_reading(rows, home, now, before)

    async def after_reading(
        self,
        rows: list[TelemetryRow],
        home: HomeSpec | None,
        now: datetime,
        before: dict[str, DeviceState],
        applied: Mapping[str, StoredSetpoint] | None = None,
    ) -> None:
        """What follows a read at ``now`` whose telemetry ``rows`` are stored: the devices'
        capabilities refreshed, plug-ins since the states ``before`` it recorded, a drift off
        plan flagged (:meth:`read_states`). ``applied``: the setpoints in force by device, read
        for every home at once by the telemetry job (None: read here)."""
        await refresh_capabilities(self, [r.device_name for r in rows if r.online])
        if plugged := plug_ins(before, self.states):  # the arrivals, learnt from
            await asyncio.to_thread(record_plug_ins, self.store, self.home_id, now, plugged)
        if applied is None:  # no thread hop per home in the telemetry job: nothing to read
            read = await asyncio.to_thread(self.store.last_applied_setpoints, [self.home_id])
            applied = read.get(self.home_id, {})
        self._check_drift(home or await self.home(), applied)

    async def read_devices(self, now: datetime) -> list[TelemetryRow]:
        """Read every device at ``now`` (:meth:`read_states`); the telemetry rows, unstored."""
        rows = []
        for name, driver in self.drivers.items():
            health = self.health.setdefault(name, DeviceHealth())
            try:
                state = await asyncio.wait_for(
                    driver.read_state(), timeout=self.settings.device_timeout_s
                )
            except (DeviceUnavailableError, TimeoutError) as exc:
                health.online = False
                health.last_error = str(exc) or "timeout"
                rows.append(TelemetryRow(device_name=name, at=now, online=False))
                continue
            before = self.states.get(name)
            if before is not None and before.plugged_in != state.plugged_in:
                self.request_replan(f"{name} {'plugged in' if state.plugged_in else 'unplugged'}")
            if not health.online:
                self.request_replan(f"{name} back online")
            health.online, health.last_seen_utc, health.last_error = True, now, ""
            self.states[name] = state
            rows.append(
                TelemetryRow(
                    device_name=name,
                    at=now,
                    online=True,
                    power_kw=state.power_kw,
                    soc=state.soc,
                    temperature_c=state.temperature_c,
                )
            )
        return rows

    async def state_now(self, name: str) -> DeviceState | None:
        """One device read now (a boost asks whether the car is plugged in: the last
        telemetry may be up to a minute old); the last known state if it does not answer."""
        driver = self.drivers.get(name)
        if driver is not None:
            with contextlib.suppress(DeviceUnavailableError, TimeoutError):
                timeout = self.settings.device_timeout_s
                self.states[name] = await asyncio.wait_for(driver.read_state(), timeout=timeout)
        return self.states.get(name)

    def _check_drift(self, home: HomeSpec, applied: Mapping[str, StoredSetpoint]) -> None:
        """A re-plan for each device off its setpoint in force (``applied``, by device)."""
        threshold_kw = self.settings.drift_threshold_kw
        args = (self.states, applied, self.follow_site, self.store_surplus, threshold_kw)
        for reason in drift_reasons(home, *args):
            self.request_replan(reason)

    def request_replan(self, reason: str) -> None:
        if reason not in self.replan_reasons:
            self.replan_reasons.append(reason)

    # -- planning ----------------------------------------------------------------------------
    async def replan(
        self, trigger: str, home: HomeSpec | None = None, deadline_s: float | None = None
    ) -> int:
        """Plan the home now, back by ``deadline_s`` (a ``time.monotonic()``) or PlanLateError;
        returns the plan's id. A solver problem gets the rule-based plan, never an error."""
        async with self.lock:
            now = self.clock.now()
            # Reading the store and building the problem block: off the event loop, like the
            # solve and the save below, so the API answers while a home plans.
            inputs = await asyncio.to_thread(self.plan_inputs, now, home or await self.home())
            options = SolverOptions(time_limit_s=self.settings.solver_time_limit_s)
            args = (inputs, options, self.mode_memory, self.settings.planner_model_cache_shapes)
            planning = (  # on a cluster, on the worker that planned the home before
                asyncio.to_thread(plan_home, *args)
                if self.planner is None  # no GIL shared otherwise
                else self.planner.run(plan_home, *args, affinity=f"home{self.home_id}")
            )
            try:
                planned = await by_deadline(deadline_s, planning)
            except PlanFailedError as exc:  # late, or the worker died at every try
                log.error("home %s: plan (%s) failed: %s", self.home_id, trigger, exc)
                await asyncio.to_thread(
                    self.store.record_audit,
                    self.home_id,
                    now,
                    "cem",
                    exc.audit_action,
                    {"trigger": trigger[:200], "reason": str(exc)},
                )
                raise
            self.mode_memory = planned.memory
            plan = planned.plan
            plan_id = await asyncio.to_thread(
                self.store.save_plan, self.home_id, plan, planned.baseline, trigger, now
            )
            self.made = MadePlan(plan_id, plan, await asyncio.to_thread(as_stored, plan.schedule))
            self.last_problem = (plan_id, planned.problem, planned.extensions)
            self.last_plan_slot = inputs.grid.start_utc
            self.replan_reasons.clear()
            log.info(
                "home %s planned (%s): %s, %.2f GBP over %d slots",
                self.home_id,
                trigger,
                plan.solver.status.value,
                plan.totals.net_energy_cost_gbp,
                inputs.grid.n_steps,
            )
            return plan_id

    def plan_inputs(self, now: datetime, home: HomeSpec) -> PlanInputs:
        """What a plan of the home made ``now`` is built from (its share of a cohort limit
        included: the slot's batch builds them without it, :mod:`hems.cohort_limit`)."""
        s = self.settings
        grid = TimeGrid.starting_at(now, step_minutes=s.slot_minutes, horizon_hours=s.horizon_hours)
        offline = {name for name, h in self.health.items() if not h.online}
        if offline:  # planned around: the plan counts on none of them (each gets 0)
            kept = [d for d in home.devices if d.name not in offline]
            home = home.model_copy(update={"devices": kept})
        prefs = self.store.preferences(self.home_id)
        overrides = OverridesInForce.of(home, self.store.active_overrides(self.home_id, now))
        market = self.market.series(grid, home)
        previous = latest_schedule(self.store, self.home_id, self.made)
        baseline_kw = intended_grid_kw(previous, grid, market["base_load_kw"].to_numpy())
        return PlanInputs(
            home=home,
            preferences=prefs,
            states=dict(self.states),
            market=market,
            grid=grid,
            now_utc=now,
            ev_boost=overrides.boosted,
            paused_until=overrides.paused_until,
            dsr_requests=active_requests(self.store.events(self.home_id), grid, baseline_kw)
            + self.cohort_share,
            safeguards=self.safeguards(),
            capabilities=stored_capabilities(self.store, self.home_id),
            import_rewards=import_rewards(self.store.saving_sessions(self.home_id), grid),
            expected_arrivals=expected_from_log(
                self.store, self.home_id, home, self.states, grid, now
            ),
            load_spread_cover=s.planner_load_spread_cover,
        )

    async def flexibility(self) -> FlexibilityProfiles | None:
        """IO, LD and MD profiles of the latest plan (two extra solves, once per plan)."""
        if self.last_problem is None:
            return None
        plan_id, problem, extensions = self.last_problem
        if self.flexibility_cache is not None and self.flexibility_cache.plan_id == plan_id:
            return self.flexibility_cache
        stored = self.store.latest_plan(self.home_id)
        if stored is None:
            return None
        devices = [d.name for d in self.store.home(self.home_id).devices]
        profiles = {}
        options = SolverOptions(time_limit_s=self.settings.solver_time_limit_s)
        for name, timing in timing_extensions().items():
            solve = partial(optimise, problem, options, [*extensions, timing])
            plan = await (
                asyncio.to_thread(solve) if self.planner is None else self.planner.run(solve)
            )
            profiles[name] = profile_columns(plan, devices)
        self.flexibility_cache = FlexibilityProfiles(
            plan_id=plan_id,
            intended=profile_columns(stored.schedule, devices),
            least_delayed=profiles["least_delayed"],
            most_delayed=profiles["most_delayed"],
        )
        return self.flexibility_cache

    # -- dispatch ----------------------------------------------------------------------------
    async def dispatch(self, home: HomeSpec | None = None) -> None:
        """Decide setpoints from the latest plan and apply those that are due: the plan this
        controller just made (:attr:`made`), else the stored one (after a restart)."""
        now = self.clock.now()
        home = home or await self.home()
        made = self.made
        if made is not None and made.id == self.store.latest_plan_id(self.home_id):
            await asyncio.to_thread(self._decide, made.id, made.schedule, now, home)
        else:
            plan = await asyncio.to_thread(self.store.latest_plan, self.home_id)
            if plan is not None:
                await asyncio.to_thread(self._decide, plan.id, plan.schedule, now, home)
        await self.apply_due(home)
        if self.schedules_due:  # a new plan: its next hours to the devices that hold them
            self.schedules_due = False
            await leave_schedules(self, now)

    def _decide(self, plan_id: int, schedule: pd.DataFrame, now: datetime, home: HomeSpec) -> None:
        """Decide the slot's setpoints (:func:`hems.slot_setpoints.slot_setpoints`, the step
        the backtest runs too) and store them before anything is sent. The mode is stored
        with each setpoint, so a restart does not tell a battery its mode twice."""
        last = {}
        for d in home.devices:
            stored = self.store.last_decided_setpoint(self.home_id, d.name)
            if stored is not None:
                last[d.name] = stored.setpoint
        last = with_wanted(self, last)  # a device the guard holds: the plan's power, not the cap
        safeguards = self.safeguards()
        overrides = OverridesInForce.of(home, self.store.active_overrides(self.home_id, now))
        unplugged = unplugged_evs(home, self.states)
        decided = slot_setpoints(
            schedule,
            home,
            now,
            last=last,
            overrides=overrides,
            unplugged=unplugged,
            dsr_active=is_active_response(self.store.events(self.home_id), now),
            rules=safeguards.rules,
            rng=self.rng,
        )
        self.follow_site, self.store_surplus = decided.follow_site, decided.store_surplus
        if plan_id != self.schedules_plan_id:
            # a charger with no car is left no schedule: the expected charge is not sent
            # (the re-plan at plug-in sends the firm one)
            self.schedules = device_schedules(
                self, schedule, home, now, overrides.devices | unplugged
            )
            self.schedules_plan_id, self.schedules_due = plan_id, True
        rows = []
        for dec in decided.decisions:
            self.guard_wanted[dec.device] = power = dec.setpoint.power_kw
            capped = self.guard.capped(dec.device, power)
            reason = dec.reason if capped == power else TURN_DOWN_REASON
            mode = (dec.setpoint.follow_site, dec.setpoint.store_surplus)
            rows.append(NewDecision(dec.device, capped, reason, dec.effective_at, *mode))
        if rows:  # the home's decisions in one commit
            self.store.add_setpoints(self.home_id, plan_id, now, rows)

    def safeguards(self) -> Safeguards:
        """The dispatch's safeguards as the settings switch them."""
        return Safeguards.of(self.settings)

    def ramp_limits(self) -> RampLimits:
        """The ramp-up limits in the settings."""
        return self.safeguards().ramps

    async def apply_due(
        self, home: HomeSpec | None = None, maybe_due: bool = True, sends: SendBatch | None = None
    ) -> None:
        """Send every setpoint whose time has come (:func:`hems.apply_pass.apply_pass`: ramps,
        retries). One pass at a time (:attr:`apply_lock`), after the last pass's sends are
        recorded. ``maybe_due`` False: the store had nothing due (the apply job asked it for
        every home at once), so unless the guard stores a change the store is not read again.
        ``sends``: the apply job's batch of every home's sends, recorded when the job's pass
        ends (:mod:`hems.send_batch`); None: this pass's are recorded as it ends."""
        async with self.apply_lock:
            if self.unrecorded is not None:  # never read a setpoint sent as still due
                await self.unrecorded.recorded()
            batch = sends if sends is not None else SendBatch(self.store)
            self.unrecorded = batch
            try:
                # the import guard first: a turn-down goes now
                if not await guard_tick(self, home) and not maybe_due:
                    self.ramping.clear()
                    return
                await apply_pass(self, home, batch)
            finally:
                if sends is None:
                    await batch.record()

    # -- the cycle ---------------------------------------------------------------------------
    async def cycle(self, deadline_s: float | None = None, read: HomeSpec | None = None) -> None:
        """One pass: read devices, re-plan when a slot starts or something changed, dispatch.
        ``read``: the home's record, its devices just read for every home at once (not again)."""
        home = read or await self.home()  # once for the pass: its steps take it
        if read is None:
            await self.read_states(home)
        now = self.clock.now()
        slot = TimeGrid.starting_at(
            now, step_minutes=self.settings.slot_minutes, horizon_hours=1
        ).start_utc
        if self.last_plan_slot != slot:
            self.request_replan("new slot")
        if self.replan_reasons:
            await self.replan(", ".join(self.replan_reasons), home, deadline_s)
        await self.dispatch(home)
