"""A home's next plan starts from the modes its last plan chose, and is no worse for it.

A memory only chooses where the search starts: whatever it holds (the last plan's modes, or
every one of them wrong), the plan must stay within the gap of the exact optimum."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from optimiser import ModeMemory, Problem, SolverOptions, TimeGrid, optimise, planner
from optimiser.highs_backend import HighsModel, SolveOutcome, SolveStatus
from optimiser.model import GRID_BINARY_KEY
from optimiser.plan import PlanStatus

from .test_round_solver import exact_objective, summer_home


def next_slot(problem: Problem) -> Problem:
    """The same home half an hour later: the horizon moves on one slot (the last slot's
    prices and forecasts repeat), the car and the battery as planned are ignored."""
    grid = problem.grid
    later = TimeGrid(
        start_utc=grid.start_utc + timedelta(minutes=grid.step_minutes),
        step_minutes=grid.step_minutes,
        n_steps=grid.n_steps,
    )

    def moved(values: np.ndarray) -> np.ndarray:
        return np.append(values[1:], values[-1])

    pv = tuple(replace(a, forecast_kw=moved(a.forecast_kw)) for a in problem.pv)
    return replace(
        problem,
        grid=later,
        import_price_gbp_per_kwh=moved(problem.import_price_gbp_per_kwh),
        base_load_kw=moved(problem.base_load_kw),
        pv=pv,
    )


def within_gap(objective: float, exact: float, options: SolverOptions) -> bool:
    allowed = max(options.mip_abs_gap, options.mip_rel_gap * abs(objective))
    return exact - 1e-7 <= objective <= exact + allowed + 1e-7


def test_the_memory_holds_every_binarys_mode_by_its_key_and_slot_start():
    problem = summer_home(0, cheap_midday=True, degradation=0.0)
    memory = ModeMemory()
    plan = optimise(problem, memory=memory)
    assert plan.status is PlanStatus.OPTIMAL
    grid_modes = {at: m for (key, at), m in memory.modes.items() if key == GRID_BINARY_KEY}
    assert grid_modes  # import is cheaper than export overnight and at midday
    assert set(memory.modes.values()) <= {0.0, 1.0}
    schedule = plan.schedule
    for at, mode in grid_modes.items():
        assert at in schedule.index
        if mode == 0.0:  # export mode: nothing imported in that slot
            assert schedule.loc[at, "grid_import_kw"] <= 1e-6
        else:
            assert schedule.loc[at, "grid_export_kw"] <= 1e-6


@pytest.mark.parametrize("seed", range(3))
def test_the_next_plan_from_the_last_plans_modes_is_within_the_gap_of_the_optimum(seed):
    problem = summer_home(seed, cheap_midday=True, degradation=0.0)
    memory = ModeMemory()
    optimise(problem, memory=memory)
    later = next_slot(problem)
    options = SolverOptions()
    plan = optimise(later, options, memory=memory)
    assert plan.status is PlanStatus.OPTIMAL
    assert within_gap(plan.solver.objective_gbp, exact_objective(later), options)
    # and the memory now holds the later plan's slots
    assert max(at for _, at in memory.modes) <= later.grid.slot_start(later.grid.n_steps - 1)


@pytest.mark.parametrize("seed", range(3))
def test_a_memory_of_wrong_modes_does_not_change_the_plan_beyond_the_gap(seed):
    problem = summer_home(seed, cheap_midday=True, degradation=0.0)
    memory = ModeMemory()
    optimise(problem, memory=memory)
    memory.modes = {k: 1.0 - v for k, v in memory.modes.items()}  # every mode flipped
    options = SolverOptions()
    plan = optimise(problem, options, memory=memory)
    assert plan.status is PlanStatus.OPTIMAL
    assert within_gap(plan.solver.objective_gbp, exact_objective(problem), options)


def test_branch_and_bound_starts_from_the_better_of_the_remembered_and_relaxed_modes(
    monkeypatch,
):
    # cheap midday with PV exporting: neither fixing is provably within the gap of the loose
    # LP bound, so both are solved and the MIP is offered the cheaper one: here the
    # remembered modes (the last plan's optimum), as they are the same slots' optimal modes
    problem = summer_home(1, cheap_midday=True, degradation=0.0)
    memory = ModeMemory()
    optimise(problem, memory=memory)
    fixings: list[tuple[float, np.ndarray]] = []
    offered: list[tuple[int, np.ndarray]] = []  # (fixings solved before, values offered)
    real_fixed = HighsModel.solve_with_integers_fixed
    real_offer = HighsModel.offer_values

    def record_fixed(
        self: HighsModel, values: dict[int, float], limit: float, *, load: bool = True
    ) -> SolveOutcome:
        outcome = real_fixed(self, values, limit, load=load)
        if outcome.status is SolveStatus.OPTIMAL:
            fixings.append((outcome.objective, self.solution_values()))
        return outcome

    def record_offer(self: HighsModel, values: np.ndarray) -> None:
        offered.append((len(fixings), values.copy()))
        real_offer(self, values)

    monkeypatch.setattr(HighsModel, "solve_with_integers_fixed", record_fixed)
    monkeypatch.setattr(HighsModel, "offer_values", record_offer)
    plan = optimise(problem, memory=memory)
    assert plan.status is PlanStatus.OPTIMAL
    # the first round: the remembered modes first, then the relaxation's, then the MIP
    solved_before, start = offered[0]
    assert solved_before == 2
    remembered, relaxed = fixings[:2]
    assert remembered[0] < relaxed[0]
    assert remembered[0] == pytest.approx(plan.solver.objective_gbp, abs=5e-4)
    np.testing.assert_array_equal(start, remembered[1])


def test_a_plan_that_falls_back_clears_the_memory(monkeypatch):
    problem = summer_home(0, cheap_midday=True)
    memory = ModeMemory()
    optimise(problem, memory=memory)
    assert memory.modes

    def broken(*_args, **_kwargs):
        raise RuntimeError("HiGHS crashed")

    monkeypatch.setattr(planner, "solve_round", broken)
    plan = optimise(problem, memory=memory)
    assert plan.status is PlanStatus.FALLBACK
    assert memory.modes == {}  # the next plan starts from its own relaxation
