"""The HiGHS backend: a model held across solver rounds, each round with its own time."""

from __future__ import annotations

import time

import highspy
import numpy as np
import pyomo.environ as pyo
import pytest

from optimiser import SolverOptions
from optimiser.highs_backend import HighsModel, SolveStatus, termination

DEADLINE_ALLOWANCE_S = 0.15


def _market_split(rows: int, items: int) -> pyo.ConcreteModel:
    """A market-split feasibility MIP (Cornuéjols-Dawande): HiGHS cannot finish it quickly."""
    rng = np.random.default_rng(0)
    a = rng.integers(0, 100, size=(rows, items))
    m = pyo.ConcreteModel()
    m.x = pyo.Var(range(items), domain=pyo.Binary)
    m.slack = pyo.Var(range(rows), bounds=(0, None))
    m.split = pyo.Constraint(
        range(rows),
        rule=lambda _m, i: (
            sum(int(a[i, j]) * m.x[j] for j in range(items)) + m.slack[i] == int(a[i].sum()) // 2
        ),
    )
    m.objective = pyo.Objective(expr=sum(m.slack[i] for i in range(rows)))
    return m


def test_a_later_solve_gets_its_own_time_limit_and_keeps_its_start():
    # HiGHS measures some limits against the run time summed over every run of one instance: a
    # second round given 0.3 s after a first that ran 0.5 s must still complete its MIP start
    # (the first round's solution) rather than drop it for want of time
    highs = HighsModel(_market_split(rows=4, items=40), SolverOptions())
    first = highs.solve(0.5)
    assert first.solve_s >= 0.4  # it really stopped at its limit
    assert first.status is SolveStatus.TIME_LIMIT
    highs.set_start({col: float(highs.columns[col].value) for col in highs.integer_columns})
    second = highs.solve(0.3)
    assert second.status is not SolveStatus.NO_SOLUTION
    assert second.objective <= first.objective + 1e-9


def test_a_later_mip_stops_at_its_own_limit_not_the_run_time_plus_it():
    # HiGHS's branch and bound counts its limit from its own start while the limit was set to
    # the instance's summed run time plus the round's share: a 0.3 s round after a 1 s one ran
    # 1.3 s (on an on/off heat pump's plan, 9 s after 7 s, 6 s over the plan's budget)
    highs = HighsModel(_market_split(rows=4, items=40), SolverOptions())
    first = highs.solve(1.0)
    assert first.status is SolveStatus.TIME_LIMIT
    started = time.perf_counter()
    second = highs.solve(0.3)
    wall_s = time.perf_counter() - started
    assert second.status is SolveStatus.TIME_LIMIT
    assert wall_s <= 0.3 + DEADLINE_ALLOWANCE_S
    assert wall_s >= 0.25  # and not at once: the first's interrupt does not carry over


def test_the_round_lps_use_their_own_presolve_and_the_mip_keeps_its_own():
    highs = HighsModel(
        _market_split(rows=2, items=8), SolverOptions(presolve="on", lp_presolve="off")
    )
    seen: list[str] = []
    real_run = highs.highs.run

    def run():  # type: ignore[no-untyped-def]
        seen.append(highs.highs.getOptionValue("presolve")[1])
        return real_run()

    highs.highs.run = run  # type: ignore[method-assign]
    assert highs.solve_relaxation(5.0).status is SolveStatus.OPTIMAL
    fixed = dict.fromkeys(highs.integer_columns, 0.0)
    highs.solve_with_integers_fixed(fixed, 5.0)
    highs.solve(5.0)
    assert seen == ["off", "off", "on"]


def test_an_unknown_presolve_setting_is_refused():
    for field in ("presolve", "lp_presolve"):
        with pytest.raises(ValueError, match=field):
            SolverOptions(**{field: "sometimes"})


def _lp(*, infeasible: bool) -> pyo.ConcreteModel:
    m = pyo.ConcreteModel()
    m.x = pyo.Var(bounds=(0, None))
    m.y = pyo.Var(bounds=(0, 1))
    m.row = pyo.Constraint(expr=m.x + m.y >= (5 if infeasible else 1))
    if infeasible:
        m.cap = pyo.Constraint(expr=m.x <= 1)
    m.objective = pyo.Objective(expr=m.y - (0 if infeasible else m.x))
    return m


@pytest.mark.parametrize("presolve", ["on", "off"])
def test_each_termination_without_a_solution_is_its_own_member(presolve):
    options = SolverOptions(presolve=presolve)
    infeasible = HighsModel(_lp(infeasible=True), options).solve(5.0)
    assert infeasible.status in (SolveStatus.INFEASIBLE, SolveStatus.INFEASIBLE_OR_UNBOUNDED)
    unbounded = HighsModel(_lp(infeasible=False), options).solve(5.0)
    assert unbounded.status in (SolveStatus.UNBOUNDED, SolveStatus.INFEASIBLE_OR_UNBOUNDED)
    assert not infeasible.status.has_solution
    assert not unbounded.status.has_solution


def test_the_highs_statuses_map_to_terminations():
    status = highspy.HighsModelStatus
    assert termination(status.kOptimal, has_solution=True) is SolveStatus.OPTIMAL
    assert termination(status.kOptimal, has_solution=False) is SolveStatus.NO_SOLUTION
    assert termination(status.kTimeLimit, has_solution=True) is SolveStatus.TIME_LIMIT
    assert termination(status.kTimeLimit, has_solution=False) is SolveStatus.TIME_LIMIT_NO_SOLUTION
    assert termination(status.kInfeasible, has_solution=False) is SolveStatus.INFEASIBLE
    assert termination(status.kUnbounded, has_solution=False) is SolveStatus.UNBOUNDED
    assert termination(status.kSolveError, has_solution=False) is SolveStatus.ERROR
    assert termination(status.kUnknown, has_solution=True) is SolveStatus.NO_SOLUTION
    assert [s for s in SolveStatus if s.has_solution] == [
        SolveStatus.OPTIMAL,
        SolveStatus.TIME_LIMIT,
    ]


def test_options_changed_for_some_solves_are_restored_after():
    # a persistent model keeps the plan's options for its next plan: the heuristics a round
    # run on after its share turns on must not outlive it
    highs = HighsModel(_market_split(rows=2, items=10), SolverOptions())
    assert highs.highs.getOptionValue("mip_heuristic_run_rins")[1] is False
    with highs.options_changed((("mip_heuristic_run_rins", True),)):
        assert highs.highs.getOptionValue("mip_heuristic_run_rins")[1] is True
        highs.solve(0.2)
    assert highs.highs.getOptionValue("mip_heuristic_run_rins")[1] is False


def test_a_restricted_mip_starts_from_the_solution_offered_with_it():
    # HiGHS drops a solution offered before column bounds change: a window of the on/off
    # search stopped at its limit returned its own first find (e.g. 11.50 GBP from a 7.41 start)
    highs = HighsModel(_market_split(rows=3, items=30), SolverOptions())
    first = highs.solve(0.5)
    assert first.status.has_solution
    start = highs.current_values()
    fixed = {col: float(round(start[col])) for col in highs.integer_columns[:10]}
    with highs.options_changed((("mip_max_nodes", 0), ("mip_heuristic_effort", 0.0))):
        window = highs.solve_with_columns_fixed(fixed, 5.0, start)  # the root node alone
    assert window.status.has_solution
    assert window.objective <= first.objective + 1e-9
    assert highs.highs.getLp().col_lower_[highs.integer_columns[0]] == 0.0  # bounds restored
