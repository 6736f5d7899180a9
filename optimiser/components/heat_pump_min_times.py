"""An on/off unit's minimum run and off times (option: ``HeatPump.min_run_minutes``,
``min_off_minutes``), with start variables.

A compressor's controller holds it on for a minimum run and off for a minimum pause; a plan
that ignores them is not what the unit does. With ``L`` and ``D`` the minimum run and pause in
whole slots (the minutes rounded up) and ``v_t >= u_t - u_{t-1}`` (``0 <= v_t <= 1``: 1 where
the unit starts in slot ``t``), the rows are the tight ones of unit commitment (Rajan and
Takriti's min-up/min-down inequalities, whose relaxation is the convex hull of the runs):

* run: ``Σ_{s=t-L+1..t} v_s <= u_t``: a start in the last ``L`` slots means running now;
* pause: ``Σ_{s=t-D+1..t} v_s <= 1 - u_{t-D}``: running ``D`` slots ago and started since
  means a pause shorter than ``D`` in between.

It changes the problem (plans cost as much or more), so it is an option, off by default, and
its figures are reported apart from the default's (``benchmarks/onoff_heat_pump.py
--min-run-minutes``). The plan does not know how long the unit has run or rested before it:
a run or pause that crosses the plan's start (``v`` exists from slot 1) is not held to the
minimum, and one the horizon ends is cut short. The rule-based fallback plan holds
them as a controller would (:class:`MinTimeHold`).

The rows are added by the unit's binary adder once every slot has its binary (the planner gives
an on/off unit's binaries in every slot from its first round), with the problem's numbers as
it is called: a kept model (:mod:`optimiser.model_cache`) deletes them with its binaries. The
start the planner searches from (:mod:`optimiser.components.heat_pump_rounding`) is held to
them by :func:`hold_min_times`, the rule-based plan's runs by :class:`MinTimeHold`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pyomo.environ as pyo

from kernel.timegrid import TimeGrid
from optimiser.components.heat_pump_spec import HeatPump

if TYPE_CHECKING:
    from optimiser.context import ModelContext


def min_time_slots(hp: HeatPump, grid: TimeGrid) -> tuple[int, int]:
    """The minimum run and pause in whole slots (1: none)."""

    def slots(minutes: float) -> int:
        return max(1, math.ceil(minutes / grid.step_minutes - 1e-9))

    return slots(hp.min_run_minutes), slots(hp.min_off_minutes)


def add_min_time_rows(ctx: ModelContext, built_as: HeatPump, block: pyo.Block) -> None:
    """Add the start variables and rows (see the module docstring) once every slot has the
    unit's binary; nothing when the unit (as ``ctx.problem`` has it now) has neither minimum
    or the rows are there."""
    hp = next(h for h in ctx.problem.heat_pumps if h.name == built_as.name)
    run, pause = min_time_slots(hp, ctx.problem.grid)
    n = ctx.n_steps
    every_slot = len(ctx.binary_slots.get(hp.binary_key)) == n
    if (run, pause) == (1, 1) or len(block.start_row) or not every_slot:
        return
    on, start = block.on, block.start
    for t in range(1, n):
        block.start_row[t] = start[t] >= on[t] - on[t - 1]
    for t in range(1, n):
        if run > 1:
            block.min_run[t] = sum(start[s] for s in range(max(1, t - run + 1), t + 1)) <= on[t]
        if pause > 1 and t >= pause:
            started = sum(start[s] for s in range(t - pause + 1, t + 1))
            block.min_off[t] = started <= 1 - on[t - pause]


class MinTimeHold:
    """A controller's hold of the minimum run and pause, slot by slot in time order: a run
    that starts holds on for ``run_slots``, a pause that starts holds off for ``off_slots``.
    A run going on from slot 0 and a pause from slot 0 are not held (nothing is known of the
    time before the plan, as in the rows). For a plan decided as it goes (the rule-based
    plan, where each slot's wish depends on the temperatures the slots before left)."""

    def __init__(self, run_slots: int, off_slots: int) -> None:
        self.run_slots, self.off_slots = run_slots, off_slots
        self._hold_until, self._hold_on = -1, False
        self._before: bool | None = None

    def mode(self, t: int, wanted: bool) -> bool:
        """Whether the unit runs in slot ``t`` (called for slots 0, 1, ... in order) when
        ``wanted`` is what its caller would do."""
        if t <= self._hold_until:
            now = self._hold_on
        else:
            now = wanted
            if t > 0 and self._before is not None and now != self._before:
                hold = self.run_slots if now else self.off_slots
                if hold > 1:
                    self._hold_until, self._hold_on = t + hold - 1, now
        self._before = now
        return now


def hold_min_times(modes: dict[int, float], run_slots: int, off_slots: int) -> dict[int, float]:
    """``modes`` (slot -> 0 or 1, every slot from 0) changed to keep the minimum run and pause
    in time order, as :class:`MinTimeHold` holds them (what a controller does with the calls
    it gets)."""
    hold = MinTimeHold(run_slots, off_slots)
    return {t: float(hold.mode(t, modes[t] > 0.5)) for t in sorted(modes)}
