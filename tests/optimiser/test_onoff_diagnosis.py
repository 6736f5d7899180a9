"""The on/off benchmark's diagnosis reports HiGHS's bounds in order (issue 27, rough edge 1):
the LP relaxation's, the root's after its cuts, the final, each below the plan's objective."""

from __future__ import annotations

import math

from benchmarks.onoff_diagnosis import traced_plan
from benchmarks.onoff_heat_pump import on_off_home
from optimiser import PlanStatus, SolverOptions


def test_the_trace_orders_the_bounds_of_a_plan_stopped_at_its_limit():
    plan, trace = traced_plan(on_off_home(1), SolverOptions(time_limit_s=1.5))
    assert plan.solver.status is PlanStatus.TIME_LIMIT
    assert trace.mip_runs >= 1
    assert all(
        math.isfinite(x)
        for x in (trace.lp_bound, trace.root_bound, trace.root_cuts_bound, trace.final_bound)
    )
    tol = 1e-6
    assert trace.lp_bound <= trace.root_cuts_bound + tol
    assert trace.root_bound <= trace.root_cuts_bound + tol
    assert trace.root_cuts_bound <= trace.final_bound + tol
    assert trace.final_bound <= plan.solver.bound_gbp + tol  # the planner keeps the best
    assert trace.final_bound <= plan.solver.objective_gbp + tol
    assert trace.primal >= plan.solver.objective_gbp - tol
