"""EV homes with a dispatch lag whose longest delay loses no more than the expected one keep
their persistent model (optimiser.model_cache).

The fleet's EV homes built ``ev_0.longest_loss_kwh[t]`` for every rise slot but wrote its rows
only where the longest delay's chords differ from the expected delay's: a slot plugged in for
less than the expected delay, or a lag with no randomised delay (``ev_random_delay_max_s = 0``,
a ramp only). A column in no row makes the cache refuse the shape (``UncoveredShapeError``), so
each such home was planned fresh at every slot.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from benchmarks.replan_homes import random_home
from optimiser import EvDispatchLag, PlanStatus, Problem, SolverOptions, optimise
from optimiser.model_cache import ModelCache, PersistentModel
from optimiser.model_shape import shape_key

OPTIONS = SolverOptions()
SERVICE_LAG = EvDispatchLag(rise_delay_s=300.0, ramp_kw_per_min=2.0, longest_delay_s=600.0)
RAMP_ONLY = EvDispatchLag(ramp_kw_per_min=2.0)  # the service with ev_random_delay_max_s = 0


def _ev_home(lag: EvDispatchLag, arrival_minutes: int, target_soc: float = 0.8) -> Problem:
    """A home with PV, battery and an EV arriving ``arrival_minutes`` after the grid starts."""
    home = random_home(0, n_steps=48)
    ev = home.evs[0]
    session = replace(
        ev.sessions[0],
        arrival_utc=home.grid.start_utc + timedelta(minutes=arrival_minutes),
        target_soc=target_soc,
    )
    return replace(home, evs=(replace(ev, sessions=(session,)),), ev_dispatch_lag=lag)


def _replan(home: Problem) -> Problem:
    """The same home later: new prices and the car's charge."""
    rng = np.random.default_rng(1)
    n = home.grid.n_steps
    price = home.import_price * rng.uniform(0.8, 1.2, n)
    ev = home.evs[0]
    session = replace(ev.sessions[0], arrival_soc=0.25)
    return replace(home, import_price_gbp_per_kwh=price, evs=(replace(ev, sessions=(session,)),))


@pytest.mark.parametrize(
    ("lag", "arrival_minutes", "target_soc"),
    [
        (SERVICE_LAG, 147, 0.8),  # plugged in 3 min of its first slot: < the expected 5 min
        (RAMP_ONLY, 120, 0.8),  # no randomised delay: the longest is the expected
        (RAMP_ONLY, -60, 0.8),  # plugged in already (slot 0 rises from the charger's power)
        (SERVICE_LAG, 147, 0.1),  # a car with no target
    ],
)
def test_an_ev_home_whose_longest_delay_loses_no_more_keeps_its_model(
    lag: EvDispatchLag, arrival_minutes: int, target_soc: float
) -> None:
    home = _ev_home(lag, arrival_minutes, target_soc)
    later = _replan(home)
    assert shape_key(later) == shape_key(home)
    PersistentModel(home, OPTIONS)  # before: UncoveredShapeError, ev_0.longest_loss_kwh[t]
    cache = ModelCache(keep_after=1)
    for problem in (home, later):
        kept = optimise(problem, OPTIONS, models=cache)
        fresh = optimise(problem, OPTIONS)
        assert fresh.status is PlanStatus.OPTIMAL
        assert kept.status is fresh.status
        gap = max(OPTIONS.mip_abs_gap, OPTIONS.mip_rel_gap * abs(fresh.solver.objective_gbp))
        assert kept.solver.objective_gbp == pytest.approx(fresh.solver.objective_gbp, abs=2 * gap)
        assert kept.solver.objective_gbp == pytest.approx(kept.totals.objective_gbp, abs=1e-4)
    stats = cache.stats()
    assert (stats.uncovered, stats.misses, stats.hits, stats.models) == (0, 1, 1, 1)
