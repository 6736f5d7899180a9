"""The service's dispatch on the simulated home: the controller's decide step
(:func:`hems.slot_setpoints.slot_setpoints`) and its apply job
(:func:`hems.slot_setpoints.ramp_move`, every apply interval), with the safeguards switched
as the service has them (:class:`hems.slot_setpoints.Safeguards`): an EV's randomised delay,
the ramp-up limits, a setpoint not re-sent while unchanged, and the import guard on the
simulated meter (:mod:`hems.import_guard`: the flexible loads turned down when the metered
import nears the home's limit). What the controller keeps in the store (the last decision per
device, the decision still due, the last setpoint sent) is kept here in memory.

The guard reads the meter where the import can change: after each decision and apply tick,
and where a car plugs in or leaves (the household load and PV of the backtest's actuals are
constant over a slot).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pandas as pd

from hems.backtest.engine import RunContext
from hems.dispatch import setpoint_for
from hems.import_guard import ImportGuard
from hems.simulation.devices import SimulatedEvCharger
from hems.slot_setpoints import (
    NO_OVERRIDES,
    DecidedSetpoint,
    Safeguards,
    SentSetpoint,
    ramp_move,
    slot_setpoints,
)
from kernel.devices import Setpoint


@dataclass
class ServiceDispatch:
    """One home's dispatch as the service runs it, on ``RunContext.sim``'s devices.

    Attributes:
        safeguards: the delay bound and ramp limits (the service's defaults).
        rng: draws the EV's randomised delays (seeded by the run, for repeatable results).
    """

    safeguards: Safeguards = field(default_factory=Safeguards)
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    _decided: dict[str, Setpoint] = field(default_factory=dict, init=False)
    _due: dict[str, DecidedSetpoint] = field(default_factory=dict, init=False)
    _sent: dict[str, SentSetpoint] = field(default_factory=dict, init=False)
    _follow_site: frozenset[str] = field(default=frozenset(), init=False)
    _store_surplus: frozenset[str] = field(default=frozenset(), init=False)
    _ticks_from: datetime | None = field(default=None, init=False)
    guard: ImportGuard = field(default_factory=ImportGuard)

    async def decide(
        self, ctx: RunContext, schedule: pd.DataFrame, now: datetime, dsr_active: bool
    ) -> None:
        """Decide the slot's setpoints from the plan's ``schedule`` and run the apply job
        once, as the controller's dispatch does; the apply job's ticks count from here."""
        decided = slot_setpoints(
            schedule,
            ctx.config.home,
            now,
            last=self._decided,
            overrides=NO_OVERRIDES,
            dsr_active=dsr_active,
            rules=self.safeguards.rules,
            rng=self.rng,
        )
        self._follow_site, self._store_surplus = decided.follow_site, decided.store_surplus
        for d in decided.decisions:  # a newer decision replaces one still waiting
            self._decided[d.device] = d.setpoint
            self._due[d.device] = d
        self._ticks_from = now
        await self.apply_due(ctx, now)
        await self.guard_tick(ctx, now)

    async def apply_due(self, ctx: RunContext, now: datetime) -> None:
        """The apply job at ``now``: send each due setpoint, a rise walked in ramp steps."""
        specs = {d.name: d for d in ctx.config.home.devices}
        for name, decision in list(self._due.items()):
            if decision.effective_at > now:
                continue
            device, spec = ctx.sim.devices.get(name), specs.get(name)
            if device is None or spec is None:
                del self._due[name]
                continue
            sent = self._sent.get(name)
            state_kw = (await device.read_state()).power_kw if sent is None else 0.0
            target_kw = self.guard.capped(name, decision.setpoint.power_kw)
            move = ramp_move(self.safeguards.ramps, spec, target_kw, sent, state_kw, now)
            if move is None:
                continue
            await device.apply(
                setpoint_for(name, move.power_kw, self._follow_site, self._store_surplus)
            )
            self._sent[name] = SentSetpoint(power_kw=move.power_kw, applied_at=now)
            if move.reaches_target:
                del self._due[name]

    async def guard_tick(self, ctx: RunContext, now: datetime) -> None:
        """The import guard on the simulated meter at ``now``: a turn-down sent at once, a
        restore due now (ramped as any rise)."""
        env = ctx.sim.environment(now)  # the actuals carry no noise: the step's own values
        changes = self.guard.update(
            ctx.config.home,
            now,
            ctx.sim.metered_kw(env),
            {name: sent.power_kw for name, sent in self._sent.items()},
            {name: setpoint.power_kw for name, setpoint in self._decided.items()},
            following=self._follow_site | self._store_surplus,
        )
        for change in changes:
            setpoint = setpoint_for(
                change.device, change.power_kw, self._follow_site, self._store_surplus
            )
            self._due[change.device] = DecidedSetpoint(
                device=change.device, setpoint=setpoint, reason=change.reason, effective_at=now
            )
        if changes:
            await self.apply_due(ctx, now)

    async def run_until(self, ctx: RunContext, until_utc: datetime) -> None:
        """Run the simulated home towards ``until_utc`` through the apply job's ticks (every
        apply interval from the last decision) while a setpoint is still due, and through
        the moments a car plugs in or leaves, the import guard reading the meter at each; the
        home is left at the last of them before ``until_utc``, or where it was when there is
        none."""
        while True:
            now = ctx.sim.now_utc
            tick, plug = self._next_tick(now), _next_plug_event(ctx, now)
            at = min((t for t in (tick, plug) if t is not None), default=None)
            if at is None or at >= until_utc:
                return
            ctx.sim.advance(at)
            if at == tick:
                await self.apply_due(ctx, at)
            await self.guard_tick(ctx, at)

    def _next_tick(self, after_utc: datetime) -> datetime | None:
        """The first tick of the apply job after ``after_utc`` at which a setpoint is due
        (None when none is)."""
        if not self._due or self._ticks_from is None:
            return None
        interval = timedelta(seconds=self.safeguards.ramps.apply_interval_s)
        first_due = min(d.effective_at for d in self._due.values())
        k_due = math.ceil((first_due - self._ticks_from) / interval)  # at or after it
        k_after = math.floor((after_utc - self._ticks_from) / interval) + 1  # strictly after
        return self._ticks_from + max(k_due, k_after) * interval


def _next_plug_event(ctx: RunContext, after_utc: datetime) -> datetime | None:
    """The first moment after ``after_utc`` a simulated car plugs in or leaves (None: none)."""
    events = [
        event
        for device in ctx.sim.devices.values()
        if isinstance(device, SimulatedEvCharger)
        and (event := device.next_plug_event(after_utc)) is not None
    ]
    return min(events, default=None)
