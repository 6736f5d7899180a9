"""An on/off unit's first plan built forwards in time: relax and fix.

Tracking the relaxation's temperatures (:mod:`optimiser.components.heat_pump_rounding`)
starts a unit without a tank 1.2-4 % above its optimum, but one with a hot-water tank 7-17 %
above (the 200 L reference homes of seeds 1-3): a run's heat can go to either store, and the
relaxation's part-power split between them is not one a full-power run can follow. Relax and
fix (the lot-sizing heuristic) decides the modes a few hours at a time instead: step k solves
the MIP with the binaries of slots before its window fixed to the steps before, its own
window's binaries integer and every later binary relaxed, so each window's runs are chosen
knowing the cost of what follows (as the relaxation prices it). On the 200 L homes of seeds
0-3 it came within 0.06-0.96 % of the best known plans in 8 steps of 12 slots (0.5-0.7 s of
CPU), where the tracked start after 4.8 s of window search (loaded) was still 2-3 % above;
steps of 24 slots came within 0.02-0.13 % but took up to 3 s of CPU; steps of 8 were worse
on all four, of 16 better on one and worse on three (docs/performance.md).

The last step's solution is a solution of the whole model (every binary integral), the start
of the window search (:mod:`optimiser.window_search`). Out of time before the last step, the
slots not yet decided take the start's modes (one LP), so a loaded machine's short budget
still gets the hours decided so far.
"""

from __future__ import annotations

import math
import time

import numpy as np

from optimiser.highs_backend import HighsModel
from optimiser.window_search import SearchResult

STEP_SLOTS = 12
"""Slots whose binaries one step makes integer and fixes (6 h of 30-minute slots)."""

LOOKAHEADS_SLOTS = (STEP_SLOTS, 2 * STEP_SLOTS)
"""The passes the planner runs, each the slots a step makes integer (it fixes the first
:data:`STEP_SLOTS` of them): integer 24 slots ahead finds other plans than 12 (seeds 0-3 and 6
of the 200 L homes: 0.19, 0.09, 0.13, 0.18, -0.43 % from the best known then, against 0.09,
0.50, 0.96, 0.06, +1.2 %), in ~2x the CPU; the cheaper pass first."""

STEP_LIMIT_S = 1.0
"""Most one step's MIP may take [s]; one stopped there keeps its best so far."""


def relax_and_fix(
    hm: HighsModel,
    slot_of: dict[int, int | None],
    start: np.ndarray,
    time_limit_s: float,
    lookahead_slots: int = STEP_SLOTS,
) -> SearchResult:
    """A solution of the model built step by step (see the module docstring) within
    ``time_limit_s``; ``start``: a solution's column values, whose modes fill the slots not
    reached. ``slot_of``: each integer column's slot (None: integer in every step).
    ``lookahead_slots``: the slots a step makes integer, of which it fixes the first
    :data:`STEP_SLOTS`. An objective of inf: no solution found. The model's bounds and
    integrality are as before on return; no values are loaded in the Pyomo model."""
    started = time.perf_counter()
    slotted = {col: s for col, s in slot_of.items() if s is not None}
    fixed: dict[int, float] = {}
    steps = 0
    lo, last = min(slotted.values(), default=0), max(slotted.values(), default=-1)
    while lo <= last:
        hi = lo + STEP_SLOTS
        left = time_limit_s - (time.perf_counter() - started)
        if left <= 0:
            break
        relaxed = [col for col, s in slotted.items() if s >= lo + max(lookahead_slots, 1)]
        outcome = hm.solve_with_columns_relaxed(fixed, relaxed, min(STEP_LIMIT_S, left))
        steps += 1
        if not outcome.status.has_solution:
            break
        if not relaxed:  # the last step: a solution of the model
            return SearchResult(outcome.objective, hm.solution_values(), steps)
        values = hm.solution_values()
        fixed.update({col: float(round(values[col])) for col, s in slotted.items() if lo <= s < hi})
        lo = hi
    rest = {col: float(round(start[col])) for col in slot_of if col not in fixed}
    completed = hm.solve_with_integers_fixed(fixed | rest, max(0.01, time_limit_s), load=False)
    if not completed.status.has_solution:
        return SearchResult(math.inf, start, steps)
    return SearchResult(completed.objective, hm.solution_values(), steps)
