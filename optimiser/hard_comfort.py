"""Why a home cannot hold a hard comfort band (``Problem.hard_comfort``).

The solver only says "infeasible"; the consumer or analyst needs which heat pump, when and why.
The indoor temperature rises with the heat put in, so two replays of each building bound every
plan's temperature:

* the heat pump at full power in every slot gives the warmest the home can be: where that is
  below the band's minimum, the heat pump is too small for the cold then;
* the heat pump off gives the coolest: where that is above the maximum, the home is too warm
  and a heat pump cannot cool;
* full power, but no more than the import limit leaves beside the base load (with all PV and
  every battery's full discharge): where that is below the minimum, the connection is too
  small to heat the home then.

Each names a cause that makes the band infeasible on its own. When none applies the band is
lost to how the limits combine (several heat pumps sharing the import limit, an on/off unit's
steps in a narrow band, a battery's energy), and the message says so.
"""

from __future__ import annotations

import numpy as np

from optimiser.checks import FloatArray
from optimiser.components.heat_pump_spec import HeatPump, HeatPumpInputs
from optimiser.components.thermal import simulate_first_order
from optimiser.problem import Problem
from optimiser.registry import ASSET_KINDS
from optimiser.results import local_span, runs

TOLERANCE_K = 1e-3
"""A replay this far outside the band counts as outside it [K] (the solver's tolerance)."""


def hard_comfort_infeasibility(problem: Problem) -> tuple[str, bool]:
    """Why ``problem``'s hard comfort band cannot be held, and whether that is proven (a
    replay above shows it; False: the limits' combination, not proven here)."""
    for hp in problem.heat_pumps:
        found = _heat_pump_cause(problem, hp)
        if found is not None:
            return found, True
    return (
        "no single limit explains it: the heat pumps' power, the import limit, the tank and "
        "the batteries together cannot hold every band",
        False,
    )


def _heat_pump_cause(problem: Problem, hp: HeatPump) -> str | None:
    grid = problem.grid
    t_out = problem.outdoor_temperature
    inp = HeatPumpInputs.of(hp, grid, t_out, problem.running_fraction)
    lo, hi = np.asarray(hp.comfort_min_c), np.asarray(hp.comfort_max_c)

    def replay(power_kw: FloatArray) -> FloatArray:  # the power while it runs
        heat = inp.cop * power_kw + inp.gains_kw
        start = hp.building.initial_indoor_temperature_c
        return simulate_first_order(inp.building_step, start, t_out, heat, inp.first_building_step)

    n = grid.n_steps
    full = replay(np.full(n, hp.max_power_kw))
    cold = runs(full < lo - TOLERANCE_K)
    if cold:
        first, last = cold[0]
        t = int(first + np.argmin(full[first : last + 1] - lo[first : last + 1]))
        return (
            f"{hp.name} is too small for the cold {_when(problem, first, last)}: at its full "
            f"{hp.max_power_kw:g} kW (COP {inp.cop[t]:.1f} at {t_out[t]:.0f} °C outside) the "
            f"home reaches only {full[t]:.1f} °C against the {lo[t]:.1f} °C minimum"
        )
    off = replay(np.zeros(n))
    warm = runs(off > hi + TOLERANCE_K)
    if warm:
        first, last = warm[0]
        t = int(first + np.argmax(off[first : last + 1] - hi[first : last + 1]))
        return (
            f"the home is too warm {_when(problem, first, last)}: with {hp.name} off it is "
            f"{off[t]:.1f} °C against the {hi[t]:.1f} °C maximum, and a heat pump cannot cool"
        )
    room_kw = _room_under_import_limit_kw(problem) / inp.running  # while it runs
    allowed = np.clip(room_kw, 0.0, hp.max_power_kw)
    limited = replay(allowed)
    short = runs(limited < lo - TOLERANCE_K)
    if short:
        first, last = short[0]
        t = int(first + np.argmin(limited[first : last + 1] - lo[first : last + 1]))
        return (
            f"the {problem.import_limit_kw:g} kW import limit leaves {hp.name} at most "
            f"{allowed[t]:.1f} kW beside the other load {_when(problem, first, last)}, and the "
            f"home reaches only {limited[t]:.1f} °C against the {lo[t]:.1f} °C minimum"
        )
    return None


def _room_under_import_limit_kw(problem: Problem) -> FloatArray:
    """The most the site can give a heat pump per slot [kW]: the import limit, all generation
    and every battery's full discharge, less the base load."""
    n = problem.grid.n_steps
    generation = sum(
        (
            g
            for k in ASSET_KINDS
            for a in k.assets(problem)
            if (g := k.generation_kw(a)) is not None
        ),
        np.zeros(n),
    )
    discharge = sum(b.max_discharge_kw for b in problem.batteries)
    room = problem.import_limit_kw + generation + discharge - problem.base_load
    return np.asarray(room, dtype=np.float64)


def _when(problem: Problem, first: int, last: int) -> str:
    grid = problem.grid
    return local_span(grid.slot_start(first), grid.slot_start(last + 1))
