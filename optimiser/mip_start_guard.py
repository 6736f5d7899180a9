"""Catch a MIP whose returned values are not the solution it reports, and solve it again.

HiGHS 1.16 (through highspy), given a complete start (``setSolution``, as the planner offers
its fixed-mode solution, :mod:`optimiser.round_solver`), can end a MIP ``Optimal`` with the
better objective it found but hand back the start's values: a 16-slot home with PV alone and
one slot paid to import (-6.25 p) and to export (25 p) reported -0.77533 GBP while its values
cost -0.72846 (the plan then curtailed PV it could have exported, and its replayed cost
disagreed with the solver's). Without a start, or without presolve, the same MIP returns its
values. So after every MIP run the values' objective is checked against the one reported,
and a mismatch is solved again without the start (rare: no such case among the benchmarks'
re-plans; found by the property test of ``tests/optimiser/test_warm_start.py``).
"""

from __future__ import annotations

import highspy
import numpy as np

OBJECTIVE_TOL = 1e-7
"""Largest difference, relative to ``max(1, |objective|)``, between the objective HiGHS reports
and its values' cost [GBP]: HiGHS computes one from the other, so they agree to rounding."""


def values_match_objective(h: highspy.Highs) -> bool:
    """Whether the solution HiGHS holds costs the objective it reports (True without one)."""
    info = h.getInfo()
    if info.primal_solution_status != 2:  # kSolutionStatusFeasible
        return True
    lp = h.getLp()
    x = np.asarray(h.getSolution().col_value, dtype=np.float64)
    cost = float(np.dot(np.asarray(lp.col_cost_, dtype=np.float64), x)) + float(lp.offset_)
    reported = float(info.objective_function_value)
    return abs(cost - reported) <= OBJECTIVE_TOL * max(1.0, abs(reported))


def run_again_without_start(h: highspy.Highs, limit_s: float) -> None:
    """Solve the MIP once more from nothing (its start and basis dropped) for ``limit_s``."""
    h.clearSolver()
    h.setOptionValue("time_limit", max(0.01, limit_s))
    h.run()
