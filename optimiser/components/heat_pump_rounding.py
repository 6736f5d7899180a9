"""An on/off heat pump's modes read from a relaxed solution: track its indoor temperature.

A relaxation runs an on/off unit at part power to hold the comfort minimum exactly. "On
wherever the power is positive" then runs it nearly all day and overheats the home (on the
reference home of seed 1: 110.7 GBP against an optimum of 6.49, seed 2: 49.9 against 2.89);
rounding the running share (on when the share summed so far reaches one half) still misses
by 12-14 %. Tracking the relaxation's temperature from above (on in a slot when the home
would otherwise end it colder than the relaxation) misses by 1.2-4 %: the home keeps the
relaxation's comfort and preheats in the same cheap slots, and only the overshoot of one run
costs more. That fixing is the start of the planner's search (:mod:`optimiser.window_search`).
"""

from __future__ import annotations

import math

import numpy as np
import pyomo.environ as pyo

from optimiser.components.heat_pump_spec import HeatPump, HeatPumpInputs
from optimiser.context import ModelContext, ModeRounding

TRACK_TOL_K = 1e-6
"""A slot ending this little colder than the relaxation without a run needs none [K]."""


def on_off_rounding(ctx: ModelContext, hp: HeatPump, block: pyo.Block) -> ModeRounding:
    """The rounding of ``hp``'s on/off modes from the solution loaded in ``block``; reads the
    problem when called (a persistent model's problem changes between plans). Not for a unit
    with a hot-water tank, whose runs heat two temperatures (its block does not register one:
    from the powers' rounding the window search did worse than the branch and bound alone,
    reference home of seed 1 with a 200 L tank: 8.43 against 7.46 GBP)."""

    def rounding() -> dict[int, float]:
        target = [pyo.value(block.indoor_c[t], exception=False) for t in ctx.time_set]
        if any(v is None for v in target):
            return {}  # before any solve
        problem = ctx.problem
        t_out = problem.outdoor_temperature
        inp = HeatPumpInputs.of(hp, problem.grid, t_out, problem.running_fraction)
        return tracking_modes(hp, inp, t_out, np.asarray(target, dtype=np.float64))

    return rounding


def tracking_modes(
    hp: HeatPump, inp: HeatPumpInputs, outdoor_c: np.ndarray, target_c: np.ndarray
) -> dict[int, float]:
    """Slot -> mode: on when the building, replayed with the modes chosen so far, would end
    the slot more than :data:`TRACK_TOL_K` below ``target_c`` without running."""
    theta = hp.building.initial_indoor_temperature_c
    modes: dict[int, float] = {}
    for t, goal in enumerate(target_c):
        step = inp.building_step_at(t)
        free = (
            step.a * theta
            + (1 - step.a) * float(outdoor_c[t])
            + step.b_hours_per_kwh_k * float(inp.gains_kw[t])
        )
        # a run's slot-average power is P̄ times the share it can run; its heat flow P̄ COP
        jump = step.b_hours_per_kwh_k * float(inp.cop[t]) * hp.max_power_kw
        on = math.isfinite(goal) and free < goal - TRACK_TOL_K
        modes[t] = 1.0 if on else 0.0
        theta = free + (jump if on else 0.0)
    return modes
