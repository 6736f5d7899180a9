"""A plan's reported objective is the cost of the dispatch it returns.

HiGHS 1.16, given a complete MIP start whose presolved image is better than the start itself
and already optimal, reported the optimum's objective (17.475 GBP) with the start's values
(17.569 GBP) on the EV and PV home below (found by Hypothesis in
test_random_homes_replanned_match_fresh_plans on 85c61b8, on the round's MIP path, which the
branch search of optimiser.mode_branching now usually skips: the tests force that path).
optimiser/mip_start_guard.py solves such a MIP again without the start; the planner replays
every plan and reports a disagreement that remains rather than hide it."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pyomo.environ as pyo
import pytest

from optimiser import (
    ElectricVehicle,
    PlanStatus,
    PlugInSession,
    Problem,
    PvArray,
    SolverOptions,
    TimeGrid,
    mode_branching,
    optimise,
)
from optimiser import planner as planner_module
from optimiser.highs_backend import HighsModel, SolveStatus
from optimiser.model import build_model
from optimiser.planner import initial_binary_slots
from optimiser.round_solver import RoundSolver

OPTIMUM_GBP = 17.475  # the start HiGHS handed back cost 17.56875
START = datetime(2026, 1, 15, tzinfo=UTC)


def ev_and_pv_home() -> Problem:
    """An EV that cannot reach its target (the shortfall's penalty is most of the cost),
    with PV worth exporting in two slots."""
    n = 16
    import_price, export_price, pv, base = (np.zeros(n) for _ in range(4))
    import_price[10] = -0.0625
    export_price[10], export_price[14] = 0.25, 0.5
    pv[10], pv[14] = 2.0, 1.0
    base[10] = 1.0
    ev = ElectricVehicle(
        name="EV",
        battery_capacity_kwh=20.0,
        max_charge_kw=3.6,
        charge_efficiency=0.9,
        sessions=(
            PlugInSession(
                arrival_utc=datetime(2026, 1, 15, 5, 30, tzinfo=UTC),
                departure_utc=datetime(2026, 1, 15, 7, 30, tzinfo=UTC),
                arrival_soc=0.5,
                target_soc=1.0,
            ),
        ),
    )
    return Problem(
        grid=TimeGrid(start_utc=START, step_minutes=30, n_steps=n),
        import_price_gbp_per_kwh=import_price,
        export_price_gbp_per_kwh=export_price,
        base_load_kw=base,
        import_limit_kw=23.0,
        export_limit_kw=3.68,
        pv=(PvArray(name="PV", forecast_kw=pv),),
        evs=(ev,),
    )


def _cost_of_loaded_values(model: pyo.ConcreteModel) -> float:
    objective = next(model.component_data_objects(pyo.Objective, active=True))
    return float(pyo.value(objective))


def test_a_mip_from_a_start_reports_the_cost_of_the_values_it_loads() -> None:
    problem = ev_and_pv_home()
    model = build_model(problem, initial_binary_slots(problem)).model
    hm = HighsModel(model, SolverOptions())
    hm.solve_relaxation(10.0)
    modes = {col: float(round(hm.columns[col].value)) for col in hm.integer_columns}
    modes.update({col: 1.0 for col in hm.integer_columns if hm.columns[col].value > 1e-6})
    fixed = hm.solve_with_integers_fixed(modes, 10.0)
    assert fixed.objective > OPTIMUM_GBP + 0.05  # a start worse than the optimum
    hm.offer_values(hm.current_values())
    outcome = hm.solve(10.0)
    assert outcome.status is SolveStatus.OPTIMAL
    assert outcome.objective == pytest.approx(OPTIMUM_GBP, abs=1e-6)
    assert _cost_of_loaded_values(model) == pytest.approx(outcome.objective, abs=1e-6)


@pytest.fixture
def no_branch_search(monkeypatch: pytest.MonkeyPatch) -> None:
    """The round's MIP path: the branch search gives up at once."""
    monkeypatch.setattr(mode_branching, "MAX_FRACTIONAL", 0)


@pytest.mark.usefixtures("no_branch_search")
def test_a_plan_through_the_rounds_mip_is_the_optimum_it_reports() -> None:
    plan = optimise(ev_and_pv_home(), SolverOptions())
    assert plan.status is PlanStatus.OPTIMAL
    assert plan.solver.message == "Optimal"  # the MIP's, not a dive's or the branch search's
    assert plan.solver.objective_gbp == pytest.approx(OPTIMUM_GBP, abs=1e-6)
    assert plan.totals.objective_gbp == pytest.approx(plan.solver.objective_gbp, abs=1e-6)


def test_a_plan_whose_dispatch_does_not_replay_at_its_objective_says_so(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real = planner_module.solve_round

    def understated(solver: RoundSolver, time_limit_s: float) -> object:
        outcome = real(solver, time_limit_s)
        return replace(outcome, objective=outcome.objective - 0.1, bound=outcome.bound - 0.1)

    monkeypatch.setattr(planner_module, "solve_round", understated)
    with caplog.at_level(logging.WARNING, logger="optimiser.planner"):
        plan = optimise(ev_and_pv_home(), SolverOptions())
    assert plan.solver.objective_gbp == pytest.approx(plan.totals.objective_gbp, abs=1e-9)
    assert plan.solver.objective_gbp == pytest.approx(OPTIMUM_GBP, abs=1e-6)
    assert "replays at 17.475 GBP, not 17.375" in plan.solver.message
    assert plan.status is PlanStatus.TIME_LIMIT  # 0.1 GBP above the bound: not proved
    assert "its dispatch replays at 17.475000 GBP" in caplog.text
