"""The solver report's times: build, solve and extract add up to the plan's wall time."""

from __future__ import annotations

import time

import pytest

from benchmarks.reference_home import reference_home
from optimiser import Plan, PlanStatus, Problem, optimise

from .conftest import battery
from .test_round_solver import summer_home


def _timed(problem: Problem) -> tuple[Plan, float]:
    t0 = time.perf_counter()
    plan = optimise(problem)
    return plan, time.perf_counter() - t0


def _assert_parts_add_up(plan: Plan, wall_s: float) -> None:
    r = plan.solver
    assert r.build_s >= 0.0
    assert r.solve_s >= 0.0
    assert r.extract_s >= 0.0
    # only the call itself lies outside the report (microseconds)
    assert r.total_s == pytest.approx(wall_s, rel=0.01, abs=1e-3)


@pytest.mark.parametrize(
    "make",
    [
        lambda: reference_home(0, 48, 30),
        lambda: reference_home(1, 96, 30),
        lambda: reference_home(2, 48, 60),
        lambda: summer_home(3),
        lambda: summer_home(4, cheap_midday=True, appliance=True),
    ],
    ids=["ref0-48", "ref1-96", "ref2-hourly", "summer3", "summer4-appliance"],
)
def test_the_reports_parts_add_up_to_the_wall_time(make):
    plan, wall_s = _timed(make())
    assert plan.status is PlanStatus.OPTIMAL
    _assert_parts_add_up(plan, wall_s)


def test_a_fallback_plans_parts_add_up_to_the_wall_time(hourly_grid):
    def no_grid(ctx):  # infeasible: the base load has nowhere to come from
        for t in ctx.time_set:
            ctx.model.import_kw[t].setub(0.0)

    problem = Problem(
        grid=hourly_grid,
        import_price_gbp_per_kwh=0.2,
        base_load_kw=1.0,
        batteries=(battery(),),
    )
    t0 = time.perf_counter()
    plan = optimise(problem, extensions=[no_grid])
    wall_s = time.perf_counter() - t0
    assert plan.status is PlanStatus.FALLBACK
    _assert_parts_add_up(plan, wall_s)
