"""A kept model's re-plan starts its first LP from the last plan's basis (optimiser.model_cache).

The warm start changes where the simplex starts, never the plan beyond the solver's gap: the
same statuses and objectives as fresh plans along sequences of re-plans, and fewer simplex
iterations than a cold start of the same model.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.replan_homes import replans
from optimiser import Problem, SolverOptions, optimise
from optimiser.highs_backend import HighsModel, SolveOutcome
from optimiser.model_cache import ModelCache

from .test_model_cache import _assert_same_plan, redraw
from .test_properties import homes

OPTIONS = SolverOptions()


@st.composite
def replan_sequences(draw: st.DrawFn) -> list[Problem]:
    """A random home and three re-plans of it."""
    home = draw(homes())
    return [home] + [redraw(draw, home) for _ in range(3)]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(replan_sequences())
def test_warm_started_replans_match_fresh_plans(sequence: list[Problem]) -> None:
    cache = ModelCache(keep_after=1)
    for problem in sequence:
        kept = optimise(problem, OPTIONS, models=cache)
        _assert_same_plan(optimise(problem, OPTIONS), kept, problem)


def _relaxation_iterations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the simplex iterations of every LP relaxation solved from now on."""
    seen: list[int] = []
    real = HighsModel.solve_relaxation

    def counted(self: HighsModel, time_limit_s: float) -> SolveOutcome:
        outcome = real(self, time_limit_s)
        seen.append(int(self.highs.getInfo().simplex_iteration_count))
        return outcome

    monkeypatch.setattr(HighsModel, "solve_relaxation", counted)
    return seen


@pytest.mark.parametrize("seed", range(3))
def test_a_replan_starts_from_the_last_plans_basis(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    sequence = replans(seed, 4, n_steps=48, reference=True)
    iterations = _relaxation_iterations(monkeypatch)
    cache = ModelCache(keep_after=1)
    warm: list[int] = []
    cold: list[int] = []
    for i, problem in enumerate(sequence):
        kept = optimise(problem, OPTIONS, models=cache)
        kept_iterations = list(iterations)
        iterations.clear()
        fresh = optimise(problem, OPTIONS)
        _assert_same_plan(fresh, kept, problem)
        if i and kept_iterations and iterations:  # a re-plan with a relaxation
            warm.append(kept_iterations[0])
            cold.append(iterations[0])
        iterations.clear()
    assert cache.hits >= 2  # (many negative prices drop the cover rows: another shape)
    assert warm
    assert sum(warm) < sum(cold) / 2  # a cold start took ~5x the iterations
