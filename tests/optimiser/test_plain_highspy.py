"""The plain highspy model of ``benchmarks/plain_highspy.py`` (the overhead benchmark's
yardstick) plans the small homes to the optimiser's objective, and refuses what it does not
model; the benchmark's interleaved run summarises every way."""

from __future__ import annotations

from dataclasses import replace

import pytest

from benchmarks.bench_overhead import WAYS, own_hardware, run_kind, summarise
from benchmarks.plain_highspy import check_same_objective, solve_plain
from benchmarks.small_homes import SMALL_HOME_KINDS, small_home, small_replans
from optimiser import SolverOptions, optimise
from optimiser.model_cache import ModelCache

OPTIONS = SolverOptions(threads=1)


@pytest.mark.parametrize("kind", SMALL_HOME_KINDS)
def test_plain_model_reaches_the_plans_objective(kind: str) -> None:
    # the home as drawn and a re-plan made inside its first slot (new data of every kind)
    for problem in small_replans(kind, seed=3, plans=2, n_steps=48):
        plain = solve_plain(problem, OPTIONS)
        assert plain.status == "Optimal"
        assert check_same_objective(plain, optimise(problem, OPTIONS), OPTIONS) <= 1.0


def test_plain_lp_is_a_lower_bound() -> None:
    problem = small_home("ev", seed=1, n_steps=48)  # a charger's minimum: binaries bind
    exact = solve_plain(problem, OPTIONS)
    relaxed = solve_plain(problem, OPTIONS, relax=True)
    assert exact.n_integer > 0
    assert relaxed.n_integer == 0
    assert relaxed.objective_gbp <= exact.objective_gbp + 1e-9


def test_a_wrong_objective_is_caught() -> None:
    problem = small_home("battery", seed=0, n_steps=48)
    plain = solve_plain(problem, OPTIONS)
    plan = optimise(problem, OPTIONS)
    off = replace(plain, objective_gbp=plain.objective_gbp + 0.01)
    with pytest.raises(AssertionError, match="more than the gap"):
        check_same_objective(off, plan, OPTIONS)


def test_uncovered_homes_are_refused() -> None:
    problem = small_home("ev", seed=0, n_steps=48)
    v2g = replace(problem, evs=(replace(problem.evs[0], v2g_max_discharge_kw=3.0),))
    with pytest.raises(ValueError, match="V2G"):
        solve_plain(v2g, OPTIONS)


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown home kind"):
        small_home("boiler", seed=0)


def test_benchmark_compares_every_way() -> None:
    cache = ModelCache(max_models=4, keep_after=1)
    rows = run_kind("battery", 24, homes=1, plans=3, options=OPTIONS, cache=cache)
    case = summarise("battery", 24, rows)
    assert case["plans_compared"] >= 1  # the kept model served a re-plan
    assert set(case["median_ms"]) == set(WAYS)
    assert case["ratios"]["kept_over_plain_cpu_s"] > 0
    assert case["max_objective_diff_over_gap"] <= 1.0


@pytest.mark.parametrize("kind", SMALL_HOME_KINDS)
def test_a_homes_first_plan_through_another_homes_model_is_timed(kind: str) -> None:
    # home 1 has hardware of its own (own_hardware) and the mix of home 0: its first plan
    # goes through home 0's kept model, at the plain model's objective
    cache = ModelCache(max_models=4, keep_after=1)
    rows = run_kind(kind, 48, homes=2, plans=2, options=OPTIONS, cache=cache)
    case = summarise(kind, 48, rows)
    assert case["shared_plans"] == 1
    assert case["ratios"]["shared_over_plain_cpu_s"] > 0
    assert case["max_objective_diff_over_gap"] <= 1.0
    home = small_home(kind, seed=1, n_steps=48)
    other = own_hardware(home, 1)
    assets = ("batteries", "evs", "heat_pumps")
    assert any(getattr(home, a) and getattr(home, a) != getattr(other, a) for a in assets)
