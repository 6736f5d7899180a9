"""A round proved by branching on the relaxation's fractional modes instead of HiGHS's MIP.

The search may only skip the MIP when its bound is a real lower bound of the round's model
and its solution within the gap of it, so the tests compare against exact solves (zero gap)
of the same model, and check the model is left as it was and the solution kept is the one
whose objective is reported."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks.replan_homes import replans
from optimiser import PlanStatus, Problem, SolverOptions, optimise
from optimiser import round_solver as round_solver_module
from optimiser.highs_backend import HighsModel, SolveStatus, solve_with_highs
from optimiser.mode_branching import branch_on_modes
from optimiser.model import build_model
from optimiser.planner import initial_binary_slots
from optimiser.round_solver import RoundSolver

# re-plans of the reference homes whose relaxation is loose in an export-paying night slot
# (HiGHS's MIP ran on each of them before the search)
LOOSE = [(0, 1), (0, 2), (1, 4), (2, 1), (3, 2)]


def re_plan(seed: int, i: int) -> Problem:
    return replans(seed, i + 1, reference=True)[i]


def exact_round_objective(problem: Problem) -> float:
    """The first round's model (its initial binaries) solved to a zero gap."""
    model = build_model(problem, initial_binary_slots(problem)).model
    outcome = solve_with_highs(model, SolverOptions(mip_rel_gap=0.0, mip_abs_gap=0.0), 60)
    assert outcome.status is SolveStatus.OPTIMAL
    return outcome.objective


def first_round(problem: Problem) -> RoundSolver:
    built = build_model(problem, initial_binary_slots(problem))
    return RoundSolver(HighsModel(built.model, SolverOptions()), built.context)


def allowed(objective: float) -> float:
    options = SolverOptions()
    return max(options.mip_abs_gap, options.mip_rel_gap * abs(objective)) + 1e-7


@pytest.mark.parametrize(("seed", "i"), LOOSE)
def test_a_loose_relaxation_is_proved_without_highs_branch_and_bound(seed, i, monkeypatch):
    def no_mip(*_args):
        raise AssertionError("HiGHS's MIP ran")

    problem = re_plan(seed, i)
    solver = first_round(problem)
    monkeypatch.setattr(RoundSolver, "_mip", no_mip)
    outcome = solver.solve(10)
    assert solver.dives_closed == 0  # the fixed-mode LP alone is not provably good enough
    assert solver.branches_closed == 1
    assert outcome.status is SolveStatus.OPTIMAL
    exact = exact_round_objective(problem)
    assert outcome.bound <= exact + 1e-7  # a real lower bound
    assert exact - 1e-7 <= outcome.objective <= exact + allowed(outcome.objective)


def test_a_plan_needs_no_mip_where_the_search_proves_it(monkeypatch):
    def no_mip(*_args):
        raise AssertionError("HiGHS's MIP ran")

    monkeypatch.setattr(RoundSolver, "_mip", no_mip)
    plan = optimise(re_plan(0, 1))
    assert plan.status is PlanStatus.OPTIMAL  # not the rule-based plan of a solver error
    assert "branched" in plan.solver.message


def test_the_loaded_solution_is_the_one_reported():
    problem = re_plan(2, 1)
    solver = first_round(problem)
    outcome = solver.solve(10)
    assert solver.branches_closed == 1
    h = solver.highs.highs
    x = solver.highs.current_values()
    cost = np.array(h.getLp().col_cost_)
    assert float(cost @ x) + h.getLp().offset_ == pytest.approx(outcome.objective, abs=1e-7)


def test_a_search_from_a_poor_solution_finds_a_better_one_and_leaves_the_model_as_it_was():
    problem = re_plan(0, 2)
    solver = first_round(problem)
    hm = solver.highs
    lp = hm.highs.getLp()
    lower, upper = np.array(lp.col_lower_), np.array(lp.col_upper_)
    integrality = list(lp.integrality_)
    poor = hm.solve_with_integers_fixed(dict.fromkeys(hm.integer_columns, 0.0), 10)  # exports
    assert poor.status is SolveStatus.OPTIMAL
    exact = exact_round_objective(problem)
    assert poor.objective > exact + allowed(exact)
    found = branch_on_modes(hm, (poor.objective, hm.current_values()), 10)
    assert found.proved
    assert found.bound <= exact + 1e-7
    assert exact - 1e-7 <= found.objective <= exact + allowed(found.objective)
    lp = hm.highs.getLp()
    np.testing.assert_array_equal(np.array(lp.col_lower_), lower)
    np.testing.assert_array_equal(np.array(lp.col_upper_), upper)
    assert list(lp.integrality_) == integrality
    values = found.values[hm.integer_columns]
    np.testing.assert_array_equal(values, np.round(values))  # a solution: integral modes


def test_a_search_out_of_lps_proves_nothing_and_highs_decides(monkeypatch):
    problem = re_plan(0, 1)
    hm = first_round(problem).highs
    start = hm.solve_with_integers_fixed(dict.fromkeys(hm.integer_columns, 1.0), 10)
    gave_up = branch_on_modes(hm, (start.objective, hm.current_values()), 10, max_lps=1)
    assert not gave_up.proved
    assert gave_up.bound == -math.inf
    assert gave_up.lps == 1
    monkeypatch.setattr(round_solver_module, "MAX_NODE_LPS", 1)
    solver = first_round(problem)
    outcome = solver.solve(10)
    assert solver.branches_closed == 0
    assert outcome.status is SolveStatus.OPTIMAL
    assert "branched" not in outcome.highs_status
    exact = exact_round_objective(problem)
    assert exact - 1e-7 <= outcome.objective <= exact + allowed(outcome.objective)
