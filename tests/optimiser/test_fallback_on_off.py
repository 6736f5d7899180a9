"""The rule-based plan (the fallback when the solver gives none) of an on/off heat pump: full
power or off in every slot (times the share of a first slot it runs), and, with minimum run and
off times, every run and pause held to them as the unit's controller holds them (it ignored
them before: a plan its unit could not follow)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from optimiser import Problem
from optimiser.components.heat_pump_min_times import MinTimeHold, hold_min_times
from optimiser.fallback import rule_based_plan
from optimiser.results import runs

from .test_heat_pump_min_times import on_off_home


def _power_kw(problem: Problem) -> np.ndarray:
    plan = rule_based_plan(problem)
    return plan.schedule[f"{problem.heat_pumps[0].name}.power_kw"].to_numpy()


@pytest.mark.parametrize("seed", [0, 3])
def test_every_run_and_pause_of_the_fallback_is_held_to_its_minimum(seed: int) -> None:
    free = _power_kw(on_off_home(seed)) > 1e-6
    n = len(free)
    assert [r for r in runs(free) if r[0] > 0 and r[1] < n - 1 and r[1] - r[0] + 1 < 3]
    held = _power_kw(on_off_home(seed, run_minutes=90, off_minutes=50)) > 1e-6
    assert held.any()
    for first, last in runs(held):
        assert first == 0 or last == n - 1 or last - first + 1 >= 3  # 90 min: 3 slots
    for first, last in runs(~held):
        assert first == 0 or last == n - 1 or last - first + 1 >= 2  # 50 min: 2 slots


def test_the_fallback_runs_an_on_off_unit_at_full_power_or_off_from_inside_a_slot() -> None:
    problem = on_off_home(1, run_minutes=60, off_minutes=60)
    problem = replace(problem, plan_start_utc=problem.grid.start_utc + timedelta(minutes=10))
    full_kw = problem.heat_pumps[0].max_power_kw * problem.running_fraction
    assert full_kw[0] == pytest.approx(problem.heat_pumps[0].max_power_kw * 2 / 3)
    power = _power_kw(problem)
    on = power > 1e-6
    assert on.any()
    np.testing.assert_allclose(power, np.where(on, full_kw, 0.0), atol=1e-9)


def test_the_hold_of_a_plan_decided_as_it_goes_is_the_hold_of_one_decided_at_once() -> None:
    wanted = [1, 0, 1, 1, 0, 1, 0, 0, 0, 1, 0, 1, 1, 1, 0]
    hold = MinTimeHold(3, 2)
    as_it_goes = [hold.mode(t, bool(w)) for t, w in enumerate(wanted)]
    at_once = hold_min_times(dict(enumerate(map(float, wanted))), 3, 2)
    assert as_it_goes == [bool(at_once[t]) for t in range(len(wanted))]
    # slot 0's run is not held; the pause from 1 holds to 2, the run from 3 to 5, ...
    assert as_it_goes == [1, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 0]
