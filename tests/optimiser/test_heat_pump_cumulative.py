"""An on/off heat pump's cumulative heat rows (:mod:`optimiser.components.heat_pump_cumulative`)
are implied by the model: the optimum is the same with and without them (issue 27, rough edge
1), with a soft and a hard comfort band, and a kept model writes them anew for each plan."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from benchmarks.reference_home import reference_home
from optimiser import PlanStatus, Problem, SolverOptions, optimise
from optimiser.components import heat_pump_cumulative
from optimiser.model import build_model
from optimiser.model_cache import ModelCache
from optimiser.planner import initial_binary_slots

EXACT = SolverOptions(time_limit_s=60.0, mip_rel_gap=1e-7, mip_abs_gap=1e-9)


def small_on_off_home(seed: int, n_steps: int = 48, indoor_c: float = 20.0) -> Problem:
    """The reference home of ``seed`` over ``n_steps`` slots with an on/off heat pump, the
    building starting at ``indoor_c``."""
    problem = reference_home(seed, n_steps=n_steps)
    pumps = tuple(
        replace(
            hp,
            modulating=False,
            building=replace(hp.building, initial_indoor_temperature_c=indoor_c),
        )
        for hp in problem.heat_pumps
    )
    return replace(problem, heat_pumps=pumps)


def rows_of(problem: Problem) -> int:
    built = build_model(problem, initial_binary_slots(problem))
    return len(built.blocks[problem.heat_pumps[0].name].cumulative)


def exact_objective(problem: Problem, *, rows: bool) -> float:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(heat_pump_cumulative, "ENABLED", rows)
        plan = optimise(problem, EXACT)
    assert plan.solver.status is PlanStatus.OPTIMAL
    return plan.solver.objective_gbp


@pytest.mark.parametrize(("seed", "hard"), [(0, False), (2, False), (1, True)])
def test_the_rows_keep_the_optimum(seed: int, hard: bool) -> None:
    indoor_c = 20.5 if hard else 19.0  # a hard band held from the start
    problem = replace(small_on_off_home(seed, indoor_c=indoor_c), hard_comfort=hard)
    assert rows_of(problem) > 10  # the floor asks for heat in most slots
    with_rows = exact_objective(problem, rows=True)
    assert with_rows == pytest.approx(exact_objective(problem, rows=False), rel=1e-6, abs=1e-6)


def test_the_rows_keep_the_optimum_of_a_partial_first_slot_with_free_gains() -> None:
    """A plan made 20 minutes into its first slot (the unit runs a third of it, its heat flow
    while running the full one) in a building with solar and internal gains."""
    problem = small_on_off_home(1, indoor_c=19.0)
    gains = np.where(np.arange(48) % 48 < 8, 1.5, 0.2)
    pumps = tuple(
        replace(hp, building=replace(hp.building, solar_gain_kw=gains, internal_gain_kw=0.3))
        for hp in problem.heat_pumps
    )
    start = problem.grid.start_utc + timedelta(minutes=20)
    problem = replace(problem, heat_pumps=pumps, plan_start_utc=start)
    assert problem.running_fraction[0] == pytest.approx(1 / 3)
    assert rows_of(problem) > 10
    with_rows = exact_objective(problem, rows=True)
    assert with_rows == pytest.approx(exact_objective(problem, rows=False), rel=1e-6, abs=1e-6)


def test_a_modulating_unit_gets_none() -> None:
    problem = reference_home(0, n_steps=48)
    built = build_model(problem, initial_binary_slots(problem))
    assert not hasattr(built.blocks[problem.heat_pumps[0].name], "cumulative")


def test_a_kept_model_writes_them_for_each_plan() -> None:
    """A cold home's rows ask for many runs; left in the kept model they would make a warm
    home's plan heat more than its optimum."""
    cold, warm = small_on_off_home(0, 32, indoor_c=16.0), small_on_off_home(0, 32, indoor_c=22.0)
    cache = ModelCache(keep_after=1)
    optimise(cold, EXACT, models=cache)
    kept = optimise(warm, EXACT, models=cache)
    assert cache.stats().hits == 1
    assert kept.solver.objective_gbp == pytest.approx(exact_objective(warm, rows=True), abs=1e-6)


def test_no_row_without_the_binaries_before_it() -> None:
    """Only a prefix of slots with binaries makes rows (a slot without one has no run)."""
    problem = small_on_off_home(0, 32, indoor_c=19.0)
    slots = initial_binary_slots(problem)
    key = problem.heat_pumps[0].binary_key
    some = replace(slots, by_key={**slots.by_key, key: frozenset(range(5, 32))})
    built = build_model(problem, some)
    assert len(built.blocks[problem.heat_pumps[0].name].cumulative) == 0
