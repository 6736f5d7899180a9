"""How a solver run ended: one member per termination, so callers test an enum, not a message.

``highs_status`` (HiGHS's own words) stays beside it in :class:`~optimiser.highs_backend
.SolveOutcome` for people; code branches on :class:`SolveStatus` only.
"""

from __future__ import annotations

from enum import StrEnum


class SolveStatus(StrEnum):
    """The termination of one solve (or of a whole plan, in ``SolverReport.termination``)."""

    OPTIMAL = "optimal"  # solved to the configured gap, with a solution
    TIME_LIMIT = "time_limit"  # a limit (time, iterations, an interrupt) stopped it; a solution
    TIME_LIMIT_NO_SOLUTION = "time_limit_no_solution"  # the same limits, before any solution
    INFEASIBLE = "infeasible"  # proved infeasible
    UNBOUNDED = "unbounded"  # proved unbounded
    INFEASIBLE_OR_UNBOUNDED = "infeasible_or_unbounded"  # presolve proved one of the two
    ERROR = "error"  # the solver failed (model, presolve, solve, postsolve or memory error)
    NO_SOLUTION = "no_solution"  # any other stop without a usable solution

    @property
    def has_solution(self) -> bool:
        """True when the run left a feasible solution the planner may use."""
        return self in (SolveStatus.OPTIMAL, SolveStatus.TIME_LIMIT)
