"""The planner's replay check covers plans with the service's extensions.

Every plan's objective is checked against the cost its dispatch replays at (a HiGHS defect once
handed back a start's values with the optimum's objective: test_objective_replay.py). The
service plans EV homes with its peak hours (a :class:`SlotPenalty`) and analysts ask for
flexibility profiles, whose terms the bill's replay does not hold: those extensions replay
their own terms, so their plans are checked too. An analyst's own callable cannot be replayed,
and its plans are returned unchecked, as before."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from optimiser import (
    Building,
    CopCurve,
    FlexibilityProfile,
    HeatPump,
    PlanStatus,
    Problem,
    SlotPenalty,
    SolverOptions,
    TimeGrid,
    Timing,
    optimise,
)
from optimiser import planner as planner_module
from optimiser.context import ModelContext, ModelExtension
from optimiser.extensions import replayed_extensions_cost_gbp
from optimiser.flexible_power import flexible_power_kw
from optimiser.highs_backend import HighsModel
from optimiser.model import build_model
from optimiser.model_cache import ModelCache
from optimiser.planner import initial_binary_slots, read_dispatch
from optimiser.round_solver import RoundSolver

from .conftest import START, battery, plugged_ev

N = 24


def home() -> Problem:
    """A day in hours: an EV plugged in 6-20 h, a battery and a heat pump; dear evening hours."""
    price = np.full(N, 0.20)
    price[2:6] = 0.08
    price[16:20] = 0.35
    hp = HeatPump(
        name="HP",
        max_power_kw=3.0,
        cop=CopCurve(outdoor_temperature_c=(0.0,), cop=(3.0,)),
        building=Building(
            heat_loss_kw_per_k=0.2,
            thermal_capacity_kwh_per_k=5.0,
            initial_indoor_temperature_c=20.0,
        ),
        comfort_min_c=19.0,
        comfort_max_c=22.0,
    )
    return Problem(
        grid=TimeGrid(start_utc=START, step_minutes=60, n_steps=N),
        import_price_gbp_per_kwh=price,
        export_price_gbp_per_kwh=0.05,
        base_load_kw=0.5,
        outdoor_temperature_c=np.full(N, 5.0),
        batteries=(battery(name="Battery"),),
        evs=(
            replace(
                plugged_ev(
                    arrive_h=6, leave_h=20, arrival_soc=0.3, target_soc=0.8, capacity_kwh=40.0
                ),
                name="EV",
            ),
        ),
        heat_pumps=(hp,),
    )


PEAK = SlotPenalty(slots=tuple(range(8, 14)), assets={"EV", "Battery", "HP"}, gbp_per_kwh=0.3)
"""Peak hours the heat pump cannot avoid entirely: the plan pays some."""
LATEST = FlexibilityProfile(Timing.LATEST, assets=("EV",))


def test_each_kind_declares_the_flexible_power_the_replay_reads() -> None:
    """The model's flexible-load columns (what extensions charge) equal the dispatch's powers
    that :func:`flexible_power_kw` maps them to, asset by asset and slot by slot."""
    problem = home()
    built = build_model(problem, initial_binary_slots(problem), [PEAK])
    assert HighsModel(built.model, SolverOptions()).solve(10.0).status.has_solution
    dispatch = read_dispatch(problem, built)
    assert {load.asset_name for load in built.context.flexible_loads} == {"Battery", "EV", "HP"}
    for load in built.context.flexible_loads:
        power = flexible_power_kw(dispatch, load.asset_name)
        assert power is not None
        for t in load.slots:
            assert power[t] == pytest.approx(load.power_kw[t].value, abs=1e-9)
    assert flexible_power_kw(dispatch, "no such asset") is None


@pytest.mark.parametrize(
    ("extensions", "kept"), [([PEAK], True), ([LATEST], False), ([PEAK, LATEST], False)]
)
def test_a_plan_with_the_services_extensions_replays_at_its_objective(
    extensions: list[ModelExtension], kept: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """Fresh and, with the peak hours alone, through a kept model (the service's path), the
    solver's objective is the bill's replay plus the extensions' own terms, and nothing is
    reported."""
    problem = home()
    cache = ModelCache()
    with caplog.at_level(logging.WARNING, logger="optimiser.planner"):
        plans = [optimise(problem, SolverOptions(), extensions, models=cache) for _ in range(3)]
    assert (cache.stats().hits >= 1) is kept
    for plan in plans:
        assert plan.status is PlanStatus.OPTIMAL
        terms = replayed_extensions_cost_gbp(extensions, plan.dispatch, 1.0)
        assert terms is not None
        assert terms > 0.0
        assert plan.solver.objective_gbp == pytest.approx(
            plan.totals.objective_gbp + terms, abs=1e-6
        )
    assert "replays at" not in caplog.text


def test_a_plan_with_peak_hours_whose_dispatch_does_not_replay_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Before, a plan with any extension skipped the check: an understated objective passed."""
    monkeypatch.setattr(planner_module, "solve_round", _understated(planner_module.solve_round))
    plan = optimise(home(), SolverOptions(), [PEAK])
    assert "its dispatch replays at" in plan.solver.message
    assert plan.status is PlanStatus.TIME_LIMIT  # 0.1 GBP above the bound: not proved


def test_an_analysts_own_extension_is_not_replayed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Its terms are unknown to the replay: the plan is returned as solved, unchecked."""

    def no_battery_export(ctx: ModelContext) -> None:
        ctx.cost_terms.append(0.0 * ctx.block("Battery").discharge_kw[0])

    monkeypatch.setattr(planner_module, "solve_round", _understated(planner_module.solve_round))
    plan = optimise(home(), SolverOptions(), [PEAK, no_battery_export])
    assert "replays at" not in plan.solver.message


def _understated(real: Callable[[RoundSolver, float], Any]) -> Callable[[RoundSolver, float], Any]:
    def understated(solver: RoundSolver, time_limit_s: float) -> Any:
        outcome = real(solver, time_limit_s)
        return replace(outcome, objective=outcome.objective - 0.1, bound=outcome.bound - 0.1)

    return understated
