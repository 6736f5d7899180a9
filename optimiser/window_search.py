"""Improve an on/off unit's plan window by window before HiGHS's branch and bound.

An on/off unit (a heat pump at full power or off) makes the relaxation loose: it runs the
unit at part power, so its bound sits 3-6 % below the optimum of the reference homes, and
HiGHS's branch and bound, from the rounded relaxation, needs 30 s and more to come within
0.1 % of it (the planner's budget is 10 s). Its runs interact only through the building's
temperature, over hours rather than days, so a plan is improved well by re-solving a few
hours at a time: with every binary outside a window of :data:`WINDOW_SLOTS` slots fixed to
the plan's modes, the window's MIP (tens of binaries) solves in a fraction of a second and
never returns worse than the plan it starts from. Windows step by half their width over the
horizon, and passes repeat while one improves the plan. On the reference homes with an on/off
heat pump (seeds 1-3) this found the proved optimum, or came within 0.02 %, in 1-3 s of CPU
where the branch and bound alone stopped 0.07-1.4 % above it in 10 s (docs/performance.md).

Every window's solution is a solution of the whole model (the window only fixes columns), so
the search changes where the branch and bound starts, never what is optimal, and never the
lower bound. It runs only for models with on/off units' binaries
(:meth:`optimiser.context.ModelContext.register_on_off`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from optimiser.highs_backend import HighsModel

WINDOW_SLOTS = 24
"""Slots whose binaries are free in one window (12 h of 30-minute slots). Measured on the
on/off reference homes of seeds 1-3 from the same start, CPU time to the search's end: 24
slots 1.1-2.8 s, reaching the optimum or 0.02 % above it; 32 slots 1.5-2.1 s (seeds 1-2),
0.02 %; 40 slots 2.2-12.1 s, 0.03-0.26 %; 16 slots stopped 0.3-0.8 % above (seeds 1-2)."""

WINDOW_LIMIT_S = 1.0
"""Most one window's MIP may take [s]; one stopped there returns its best so far."""

IMPROVEMENT = 1e-9
"""A window's objective must be this much lower (relative) to count as an improvement."""


@dataclass(frozen=True, slots=True)
class SearchResult:
    """The best plan found: its objective and every column's value; ``windows`` solved."""

    objective: float
    values: np.ndarray
    windows: int


def window_search(
    hm: HighsModel,
    slot_of: dict[int, int | None],
    start: tuple[float, np.ndarray],
    time_limit_s: float,
) -> SearchResult:
    """Improve ``start`` (objective, column values: a solution of the model) window by
    window for at most ``time_limit_s``. ``slot_of``: each integer column's slot (None: free
    in every window). The model's bounds are as before on return; the values loaded in the
    Pyomo model are the last window's, not necessarily the best's."""
    started = time.perf_counter()
    best, values = start
    slots = [s for s in slot_of.values() if s is not None]
    if not slots:
        return SearchResult(best, values, 0)
    first, last = min(slots), max(slots)
    stride = max(1, WINDOW_SLOTS // 2)
    windows = 0
    improved = True
    while improved:
        improved = False
        for lo in range(first, max(first, last - WINDOW_SLOTS + stride) + 1, stride):
            left = time_limit_s - (time.perf_counter() - started)
            if left <= 0:
                return SearchResult(best, values, windows)
            fixed: dict[int, float] = {
                col: float(round(values[col]))
                for col, s in slot_of.items()
                if s is not None and not lo <= s < lo + WINDOW_SLOTS
            }
            outcome = hm.solve_with_columns_fixed(fixed, min(WINDOW_LIMIT_S, left), values)
            windows += 1
            if not outcome.status.has_solution:
                continue
            if outcome.objective < best - IMPROVEMENT * max(1.0, abs(best)):
                best, values = outcome.objective, hm.current_values()
                improved = True
    return SearchResult(best, values, windows)
