"""An on/off unit's minimum run and off times (``HeatPump.min_run_minutes``,
``min_off_minutes``; issue 27, rough edge 1): every run and pause in the plan is held to them,
they cost as much or more than none, bad values are refused, and none leaves the model as it
was."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from benchmarks.reference_home import reference_home
from kernel.errors import ProblemError
from optimiser import PlanStatus, Problem, SolverOptions, optimise
from optimiser.components.heat_pump_min_times import hold_min_times
from optimiser.model import build_model
from optimiser.model_cache import ModelCache
from optimiser.planner import initial_binary_slots
from optimiser.results import runs

EXACT = SolverOptions(time_limit_s=60.0, mip_rel_gap=1e-7, mip_abs_gap=1e-9)


def on_off_home(seed: int, run_minutes: float = 0.0, off_minutes: float = 0.0) -> Problem:
    """The 24 h reference home of ``seed`` (30-minute slots) with an on/off heat pump."""
    problem = reference_home(seed, n_steps=48)
    pumps = tuple(
        replace(hp, modulating=False, min_run_minutes=run_minutes, min_off_minutes=off_minutes)
        for hp in problem.heat_pumps
    )
    return replace(problem, heat_pumps=pumps)


def modes_of(problem: Problem, options: SolverOptions) -> tuple[np.ndarray, float]:
    plan = optimise(problem, options)
    assert plan.solver.status is PlanStatus.OPTIMAL
    hp = problem.heat_pumps[0]
    power = plan.schedule[f"{hp.name}.power_kw"].to_numpy()
    return power > hp.max_power_kw / 2, plan.solver.objective_gbp


@pytest.mark.parametrize("seed", [0, 2])
def test_every_run_and_pause_is_held_to_its_minimum(seed: int) -> None:
    free, free_gbp = modes_of(on_off_home(seed), EXACT)
    held, held_gbp = modes_of(on_off_home(seed, run_minutes=90, off_minutes=50), EXACT)
    n = len(held)
    short_runs = [(a, b) for a, b in runs(free) if a > 0 and b < n - 1 and b - a + 1 < 3]
    assert short_runs  # without the option the plan has runs shorter than 90 minutes
    for first, last in runs(held):
        assert first == 0 or last == n - 1 or last - first + 1 >= 3
    for first, last in runs(~held):
        assert first == 0 or last == n - 1 or last - first + 1 >= 2  # 50 min: 2 slots
    assert held_gbp >= free_gbp - 1e-6


def test_none_adds_no_row() -> None:
    problem = on_off_home(0)
    block = build_model(problem, initial_binary_slots(problem)).blocks[problem.heat_pumps[0].name]
    assert len(block.start) == len(block.start_row) == len(block.min_run) == 0
    timed = on_off_home(0, run_minutes=60)
    block = build_model(timed, initial_binary_slots(timed)).blocks[timed.heat_pumps[0].name]
    assert len(block.start) == len(block.start_row) == len(block.min_run) == 47
    assert len(block.min_off) == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"min_run_minutes": -5.0}, "min_run_minutes"),
        ({"min_off_minutes": float("nan")}, "min_off_minutes"),
        ({"min_run_minutes": 60.0, "modulating": True}, "min_run_minutes"),
    ],
)
def test_bad_minimum_times_are_refused(changes: dict[str, object], field: str) -> None:
    problem = reference_home(0, n_steps=8)
    pumps = tuple(replace(hp, modulating=False) for hp in problem.heat_pumps)
    pumps = tuple(replace(hp, **changes) for hp in pumps)  # type: ignore[arg-type]
    with pytest.raises(ProblemError, match=field):
        replace(problem, heat_pumps=pumps)


def test_the_start_is_held_to_them_in_time_order() -> None:
    modes = dict(enumerate([1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0]))
    held = hold_min_times(modes, run_slots=3, off_slots=2)
    # slot 0's run is not held (the time before the plan is unknown); the pause from slot 1
    # holds slot 2 off; the run from 6 holds 7; the pause from 9? none: it runs on
    assert [held[t] for t in range(10)] == [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]


def test_a_kept_model_adds_and_drops_them_with_the_problem() -> None:
    """One kept model plans a unit without, with and again without minimum times (they are
    not part of a model's shape): each plan equals the fresh plan of its problem."""
    free, timed = on_off_home(0), on_off_home(0, run_minutes=90, off_minutes=50)
    cache = ModelCache(keep_after=1)
    for problem in (free, timed, free):
        kept = optimise(problem, EXACT, models=cache).solver.objective_gbp
        assert kept == pytest.approx(optimise(problem, EXACT).solver.objective_gbp, abs=1e-6)
    assert cache.stats().hits == 2
