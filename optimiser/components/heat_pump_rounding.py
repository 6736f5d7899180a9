"""An on/off heat pump's modes read from a relaxed solution: track its indoor temperature.

A relaxation runs an on/off unit at part power to hold the comfort minimum exactly. "On
wherever the power is positive" then runs it nearly all day and overheats the home (on the
reference home of seed 1: 110.7 GBP against an optimum of 6.49, seed 2: 49.9 against 2.89);
rounding the running share (on when the share summed so far reaches one half) still misses
by 12-14 %. Tracking the relaxation's temperature from above (on in a slot when the home
would otherwise end it colder than the relaxation) misses by 1.2-4 %: the home keeps the
relaxation's comfort and preheats in the same cheap slots, and only the overshoot of one run
costs more. That fixing is the start of the planner's search (:mod:`optimiser.window_search`).
A unit with a hot-water tank tracks the tank's temperature too (:func:`tracking_modes_with_tank`).
"""

from __future__ import annotations

import math

import numpy as np
import pyomo.environ as pyo

from optimiser.components.heat_pump_min_times import hold_min_times, min_time_slots
from optimiser.components.heat_pump_spec import HeatPump, HeatPumpInputs
from optimiser.context import ModelContext, ModeRounding

TRACK_TOL_K = 1e-6
"""A slot ending this little colder than the relaxation without a run needs none [K]."""


def on_off_rounding(ctx: ModelContext, hp: HeatPump, block: pyo.Block) -> ModeRounding:
    """The rounding of ``hp``'s on/off modes from the solution loaded in ``block``; reads the
    problem, and the unit in it, when called: a persistent model's problem changes between
    plans, and the unit it was built with holds the first plan's temperatures and gains."""

    def rounding() -> dict[int, float]:
        problem = ctx.problem
        now = next((x for x in problem.heat_pumps if x.name == hp.name), hp)
        target = _values(block.indoor_c, ctx.time_set)
        tank = _values(block.tank_c, ctx.time_set) if now.tank is not None else None
        if target is None or (now.tank is not None and tank is None):
            return {}  # before any solve
        t_out = problem.outdoor_temperature
        inp = HeatPumpInputs.of(now, problem.grid, t_out, problem.running_fraction)
        if tank is not None:
            modes = tracking_modes_with_tank(now, inp, t_out, (target, tank))
        else:
            modes = tracking_modes(now, inp, t_out, target)
        return hold_min_times(modes, *min_time_slots(now, problem.grid))

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


def tracking_modes_with_tank(
    hp: HeatPump,
    inp: HeatPumpInputs,
    outdoor_c: np.ndarray,
    targets_c: tuple[np.ndarray, np.ndarray],
) -> dict[int, float]:
    """Slot -> mode for a unit heating the building and a tank: on when either, replayed
    with the modes so far, would end the slot below its target (the relaxation's indoor and
    tank temperatures). A run's power goes to the tank as far as the tank needs it or the
    building does not (heat stored in water rather than overheating rooms), within the tank's
    maximum; the rest heats the building."""
    tank = hp.tank
    assert tank is not None
    building_c, tank_c = targets_c
    theta, tau = hp.building.initial_indoor_temperature_c, tank.initial_temperature_c
    draw = np.asarray(tank.draw_kw)
    modes: dict[int, float] = {}
    for t in range(len(building_c)):
        bs, ts = inp.building_step_at(t), inp.tank_step_at(t)
        assert ts is not None  # the tank's steps exist with the tank
        free_b = (
            bs.a * theta
            + (1 - bs.a) * float(outdoor_c[t])
            + bs.b_hours_per_kwh_k * float(inp.gains_kw[t])
        )
        free_w = (
            ts.a * tau
            + (1 - ts.a) * tank.room_temperature_c
            - ts.b_hours_per_kwh_k * float(draw[t])
        )
        per_kw_b = bs.b_hours_per_kwh_k * float(inp.cop[t])  # K per kW while running
        per_kw_w = ts.b_hours_per_kwh_k * float(inp.tank_cop[t])
        need_b = (float(building_c[t]) - free_b) / per_kw_b
        need_w = (float(tank_c[t]) - free_w) / per_kw_w
        on = need_b > TRACK_TOL_K / per_kw_b or need_w > TRACK_TOL_K / per_kw_w
        modes[t] = 1.0 if on else 0.0
        if on:
            room_w = max(0.0, (tank.max_temperature_c - free_w) / per_kw_w)
            tank_kw = min(max(need_w, hp.max_power_kw - need_b, 0.0), hp.max_power_kw, room_w)
            free_b += per_kw_b * (hp.max_power_kw - tank_kw)
            free_w += per_kw_w * tank_kw
        theta, tau = free_b, free_w
    return modes


def _values(var: pyo.Var, slots: object) -> np.ndarray | None:
    """A solved indexed variable's values, None before any solve."""
    values = [pyo.value(var[t], exception=False) for t in slots]  # type: ignore[attr-defined]
    if any(v is None for v in values):
        return None
    return np.asarray(values, dtype=np.float64)
