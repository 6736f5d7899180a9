"""Prove a fixed-mode solution within the gap by branching on the relaxation's fractional modes.

Why: on the re-plans of ``benchmarks/bench_replan.py`` the fixed-mode LP of a planner round
(:mod:`optimiser.round_solver`) was the optimum on every re-plan whose MIP ran, yet HiGHS's
branch and bound ran on ~2 of 3 of them (8 ms of CPU each, half of a kept re-plan) only to
prove it. The relaxation is loose in a slot where export pays at least the import price and
the home imports: with the grid binary at ``u`` the LP imports up to ``u`` times the import
limit and exports up to ``1 - u`` times the export limit at once, earning the price difference
on flows the home cannot make (a cheap night slot of the re-plans, 1-4 such slots a plan,
~1 p each against a gap of ~0.2-0.5 p). Fixing those few binaries either way gives LPs whose
objectives bound the optimum of each branch; a handful of such LPs, each started from the
last one's basis, proves the plan where HiGHS's MIP spends most of its time on set-up (its
presolve, the analytic centre, root cuts).

The search is a plain depth-first branch and bound over the integer columns of the round's
model: a node fixes some binaries and relaxes the rest; it is closed when its LP is
infeasible, when its objective is within the gap of the best solution (so no solution below it
is better than that by more than the gap), or when its LP solution is integral (then it is a
solution, kept when better). It gives up, proving nothing, after :data:`MAX_NODE_LPS` LPs or
at the time limit, and the caller runs HiGHS's MIP as before. The bound it proves is the
smallest objective of the closed nodes, a lower bound of the round's model: a proof as sound
as HiGHS's own, with the same gap tolerances.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from optimiser.highs_backend import HighsModel, SolveStatus

MAX_NODE_LPS = 16
"""Most LPs one search solves before it gives up to HiGHS's MIP."""

MAX_FRACTIONAL = 6
"""A search whose relaxation has more fractional binaries than this gives up at once: a
charger's or heat pump's minimum-power binaries leave tens fractional, which only HiGHS's
cuts and presolve close (16 LPs proved none of them on the random re-plans)."""

MAX_INTEGER_COLUMNS = 64
"""A model with more binaries than this is left to HiGHS: those are a later round's with a
charger's or heat pump's minimum-power binaries in every slot (96-140 on the random
re-plans, whose relaxations had tens fractional); the searches that proved a round had 2-48."""

INTEGER_TOL = 1e-6
"""A binary within this of 0 or 1 counts as integral (HiGHS's ``mip_feasibility_tolerance``)."""


_INFEASIBLE = frozenset({SolveStatus.INFEASIBLE, SolveStatus.INFEASIBLE_OR_UNBOUNDED})


@dataclass(frozen=True, slots=True)
class BranchResult:
    """A search's end: the best solution (objective, every column's value), the lower bound it
    proved (``-inf`` when it gave up) and the LPs it solved."""

    objective: float
    values: np.ndarray
    bound: float
    lps: int

    @property
    def proved(self) -> bool:
        return math.isfinite(self.bound)


def branch_on_modes(
    hm: HighsModel,
    incumbent: tuple[float, np.ndarray],
    time_limit_s: float,
    max_lps: int = MAX_NODE_LPS,
    root: tuple[float, np.ndarray] | None = None,
) -> BranchResult:
    """Search for a proof that ``incumbent`` (objective, column values: a solution of ``hm``'s
    minimising model) is within the gap of the optimum, or a better solution. Every column's
    bounds and integrality are as before on return and the Pyomo variables untouched (the
    caller loads the solution it keeps). ``root``: the relaxation's objective and values when
    the caller has solved it (the search's first LP, not solved again)."""
    started = time.perf_counter()
    rel_gap, abs_gap = hm.gap_tolerances()
    best_z, best_x = incumbent
    integer = np.asarray(hm.integer_columns, dtype=np.int64)
    if len(integer) > MAX_INTEGER_COLUMNS:
        return BranchResult(best_z, best_x, -math.inf, 0)
    closed: list[float] = []
    stack: list[dict[int, float]] = [{}]
    lps = 0
    while stack:
        left = time_limit_s - (time.perf_counter() - started)
        if lps >= max_lps or left <= 0:
            return BranchResult(best_z, best_x, -math.inf, lps)
        node = stack.pop()
        if not node and root is not None:
            z, values = root[0], root[1].copy()
        else:
            out = hm.solve_with_integers_fixed(node, left, load=False)
            lps += 1
            if out.status in _INFEASIBLE:
                continue  # no solution in this branch (the relaxation had one: not unbounded)
            if out.status is not SolveStatus.OPTIMAL:
                return BranchResult(best_z, best_x, -math.inf, lps)
            z, values = out.objective, hm.solution_values()
        if best_z - z <= max(abs_gap, rel_gap * abs(best_z)):
            closed.append(z)
            continue
        at = values[integer]
        distance = np.minimum(at, 1.0 - at)
        open_ = distance > INTEGER_TOL
        if node == {} and open_.sum() > MAX_FRACTIONAL:
            return BranchResult(best_z, best_x, -math.inf, lps)  # a tree too wide to search
        if not open_.any():  # the LP's solution is integral: a better solution
            values[integer] = np.round(at)
            best_z, best_x = z, values
            closed.append(z)
            continue
        col = int(integer[int(np.argmax(np.where(open_, distance, -1.0)))])
        first = float(round(best_x[col]))  # the incumbent's side last, so it is searched first
        stack.append(node | {col: 1.0 - first})
        stack.append(node | {col: first})
    bound = min(closed, default=best_z)
    return BranchResult(best_z, best_x, bound, lps)
