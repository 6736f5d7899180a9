"""Where an on/off home's gap is after the planner's budget: HiGHS's bounds traced through one
plan (issue 27, rough edge 1; used by :mod:`benchmarks.onoff_heat_pump`).

A plan that stops at its time limit is short on the primal side (its plan is above the
optimum), the dual side (HiGHS's bound is below it), or both; the planner's report only has the
two ends. :func:`traced_plan` plans a problem while watching HiGHS's MIP callback (every
interrupt check carries the running dual and primal bounds and the node count) during the
planner's own branch and bound (:meth:`RoundSolver._mip` and :meth:`RoundSolver.resume`, not the
window search's sub-MIPs), and records:

* the LP relaxation's objective (the planner's first bound, no cuts, no presolve);
* the branch and bound's first dual bound (its root LP, after presolve);
* its last dual bound at node 0 (after the root's cut rounds);
* its final dual bound and primal bound (the plan's), the nodes it ran and when it started.

Measurement code: the callbacks are wrapped for the one call, not changed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from optimiser import Problem
from optimiser.highs_backend import HighsModel, SolverOptions
from optimiser.plan import Plan
from optimiser.planner import optimise
from optimiser.round_solver import RoundSolver


@dataclass(slots=True)
class BoundTrace:
    """HiGHS's bounds seen during one plan (see the module docstring); NaN where not seen."""

    lp_bound: float = math.nan
    root_bound: float = math.nan
    root_cuts_bound: float = math.nan
    final_bound: float = math.nan
    primal: float = math.nan
    nodes: int = 0
    mip_started_s: float = math.nan
    mip_runs: int = 0
    _in_mip: bool = field(default=False, repr=False)
    _started: float = field(default=0.0, repr=False)

    def see(self, data: Any) -> None:
        """One MIP callback's data (inside the planner's branch and bound only)."""
        if not self._in_mip:
            return
        dual, nodes = float(data.mip_dual_bound), int(data.mip_node_count)
        if not math.isfinite(dual):
            return
        if math.isnan(self.root_bound):
            self.root_bound = dual
        if nodes == 0 and self.mip_runs == 1:
            self.root_cuts_bound = dual
        self.final_bound = max(dual, self.final_bound) if self.mip_runs > 1 else dual
        self.nodes = max(self.nodes, nodes)
        primal = float(data.mip_primal_bound)
        if math.isfinite(primal):
            self.primal = primal if math.isnan(self.primal) else min(self.primal, primal)

    def as_dict(self) -> dict[str, float | int]:
        return {
            "lp_bound_gbp": self.lp_bound,
            "root_bound_gbp": self.root_bound,
            "root_cuts_bound_gbp": self.root_cuts_bound,
            "final_bound_gbp": self.final_bound,
            "primal_gbp": self.primal,
            "nodes": self.nodes,
            "mip_started_s": self.mip_started_s,
            "mip_runs": self.mip_runs,
        }


@contextmanager
def _mip_phase(trace: BoundTrace, method: Any) -> Iterator[Any]:
    """``method`` wrapped so the trace listens while it runs."""

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        trace.mip_runs += 1
        if math.isnan(trace.mip_started_s):
            trace.mip_started_s = time.perf_counter() - trace._started
        trace._in_mip = True
        try:
            return method(*args, **kwargs)
        finally:
            trace._in_mip = False

    yield wrapped


def traced_plan(problem: Problem, options: SolverOptions) -> tuple[Plan, BoundTrace]:
    """Plan ``problem`` (:func:`optimise`) and trace HiGHS's bounds on the way."""
    trace = BoundTrace()
    interrupt = HighsModel._interrupt_at_deadline
    relaxation = HighsModel.solve_relaxation

    def on_interrupt(self: HighsModel, event: Any) -> None:
        trace.see(event.data_out)
        interrupt(self, event)

    def on_relaxation(self: HighsModel, time_limit_s: float) -> Any:
        outcome = relaxation(self, time_limit_s)
        if math.isnan(trace.lp_bound):
            trace.lp_bound = outcome.objective
        return outcome

    with ExitStack() as stack:
        mip = stack.enter_context(_mip_phase(trace, RoundSolver._mip))
        resume = stack.enter_context(_mip_phase(trace, RoundSolver.resume))
        stack.enter_context(mock.patch.object(RoundSolver, "_mip", mip))
        stack.enter_context(mock.patch.object(RoundSolver, "resume", resume))
        stack.enter_context(mock.patch.object(HighsModel, "_interrupt_at_deadline", on_interrupt))
        stack.enter_context(mock.patch.object(HighsModel, "solve_relaxation", on_relaxation))
        trace._started = time.perf_counter()
        plan = optimise(problem, options)
    return plan, trace
