"""An on/off heat pump's cumulative heat rows: the building's temperature chain written from the
known initial temperature, so HiGHS's branch and bound sees it in one row per slot.

The model holds the building as a chain, ``θ_t = a_t θ_{t-1} + f_t + k_t P_t`` (slot ``t``'s
decay ``a_t``, free heat ``f_t``: outdoors and gains, and heat per kW ``k_t``,
:mod:`optimiser.components.heat_pump`). Unrolled from the measured ``θ_{-1} = θ0``:

    θ_t = A_t + Σ_{s<=t} (Π_{r=s+1..t} a_r) k_s P_s,    A_t: the temperature with no heating.

An on/off unit runs at ``P̄`` (times the share ``f_s`` of slot ``s`` it can run) or not at all:
``P_s <= P̄ f_s u_s`` (with a tank the run's power is shared, ``P_s + W_s = P̄ f_s u_s``,
``W_s >= 0``), and ``k_s = b_s COP_s / f_s``, so ``k_s P_s <= g_s u_s`` with
``g_s = b_s COP_s P̄``. The soft comfort row gives ``θ_t + l_t >= θmin_t + h_t >= θmin_t``
(``l_t``: degrees below the band, ``h_t >= 0`` above; with a hard band ``θ_t >= θmin_t``). So
every solution of the model, integral or not, satisfies

    Σ_{s<=t} (Π_{r=s+1..t} a_r) g_s u_s + l_t >= θmin_t - A_t.

The row cuts off nothing (not even from the LP relaxation: it is implied by the chain), so the
optimum and the LP bound are unchanged. What it changes is the branch and bound: HiGHS's
separators work on single rows and short aggregations of rows (the chain is 96 rows long), and
its domain propagation on rows. In one row, a knapsack with one continuous slack, the
minimum number of full-power runs before ``t`` that the floor asks for is there for its mixed
integer rounding cuts and its propagation after each branching. Measured on the on/off
reference homes (``benchmarks/onoff_heat_pump.py``; figures in ``docs/performance.md``).

Rows are added for the slots ``t`` where every slot ``0..t`` has the unit's binary (the
planner gives an on/off unit's binaries in every slot from its first round) and the floor
asks for heat (``θmin_t > A_t``). They are added by the unit's binary adder, with the problem's
numbers as it is called, so a kept model (:mod:`optimiser.model_cache`) deletes them with its
binaries and writes them anew for the next plan.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyomo.environ as pyo
from pyomo.core.expr import LinearExpression, MonomialTermExpression

from optimiser.components.heat_pump_spec import HeatPump, HeatPumpInputs

if TYPE_CHECKING:
    from optimiser.context import ModelContext

ENABLED = True
"""Whether on/off units get the rows (a switch for ``benchmarks/onoff_heat_pump.py``'s
before-and-after runs, ``--without-cumulative-rows``)."""

MIN_NEED_K = 1e-6
"""A slot's row is added only when the floor is this far above the unheated temperature [K]
(below it the row holds for any runs)."""


def add_cumulative_rows(ctx: ModelContext, built_as: HeatPump, block: pyo.Block) -> None:
    """Add ``block.cumulative``'s rows (see the module docstring) for the slots whose row is
    not there yet and whose binaries (of every slot up to theirs) now exist. ``built_as``: the
    unit the block was built for; its numbers (the temperature now, the comfort band) are
    read from the context's problem as it is now (a kept model's next problem)."""
    hp = next(h for h in ctx.problem.heat_pumps if h.name == built_as.name)
    if not ENABLED or hp.modulating:
        return
    with_binary = ctx.binary_slots.get(hp.binary_key)
    covered = 0
    while covered in with_binary:
        covered += 1
    if covered == 0:
        return
    problem = ctx.problem
    t_out = problem.outdoor_temperature
    inp = HeatPumpInputs.of(hp, problem.grid, t_out, problem.running_fraction)
    floor_c = np.broadcast_to(np.asarray(hp.comfort_min_c, dtype=np.float64), (ctx.n_steps,))
    unheated_c = hp.building.initial_indoor_temperature_c
    reach = np.zeros(covered)  # Π a_r g_s [K]: what a run in slot s adds at the end of slot t
    soft = hasattr(block, "below_k")
    for t in range(covered):
        step = inp.building_step_at(t)
        unheated_c = (
            step.a * unheated_c
            + (1 - step.a) * float(t_out[t])
            + step.b_hours_per_kwh_k * float(inp.gains_kw[t])
        )
        reach *= step.a
        reach[t] = step.b_hours_per_kwh_k * float(inp.cop[t]) * hp.max_power_kw
        need_k = float(floor_c[t]) - unheated_c
        if t in block.cumulative or need_k <= MIN_NEED_K:
            continue
        # one linear expression, not a sum grown term by term: the reference home's rows built
        # in 3.3 ms instead of 7.2 (CPU, min of 5)
        terms: list[Any] = [
            MonomialTermExpression((c, block.on[s])) for s, c in enumerate(reach[: t + 1].tolist())
        ]
        if soft:
            terms.append(block.below_k[t])
        block.cumulative[t] = LinearExpression(terms) >= need_k
