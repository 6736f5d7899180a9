"""An EV's sessions on the grid (optimiser.components.ev_spec.session_windows), kept per (car,
grid) pair: each call gets its own list, and a car whose sessions are not hashable still gets
its windows."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from benchmarks.reference_home import reference_home
from optimiser import ElectricVehicle, PlanStatus, PlugInSession, SolverOptions, TimeGrid, optimise
from optimiser.components.ev_spec import session_windows

GRID = TimeGrid(start_utc=datetime(2026, 1, 12, 12, 0, tzinfo=UTC), step_minutes=30, n_steps=8)
STAY = PlugInSession(
    arrival_utc=GRID.start_utc + timedelta(minutes=40),
    departure_utc=GRID.start_utc + timedelta(hours=2),
    arrival_soc=0.2,
    target_soc=0.8,
)
CAR = ElectricVehicle(battery_capacity_kwh=60.0, sessions=(STAY,))


def test_each_call_gets_its_own_list_of_the_same_windows() -> None:
    first = session_windows(CAR, GRID)
    first.clear()  # a caller's change to its list reaches no other caller
    again = session_windows(CAR, GRID)
    assert [w.slots for w in again] == [(1, 2, 3)]
    assert again[0].fractions[0] == pytest.approx(2 / 3)


def test_a_moved_grid_or_a_changed_car_gets_its_own_windows() -> None:
    later = replace(GRID, start_utc=GRID.start_utc + timedelta(minutes=30))
    assert [w.slots for w in session_windows(CAR, later)] == [(0, 1, 2)]
    fuller = replace(CAR, sessions=(replace(STAY, target_soc=0.2),))
    assert session_windows(fuller, GRID)[0].required_kwh == 0.2 * 60.0


def test_sessions_given_as_a_list_still_get_their_windows() -> None:
    car = replace(CAR, sessions=[STAY])  # type: ignore[arg-type]  # unhashable: not kept
    assert [w.slots for w in session_windows(car, GRID)] == [(1, 2, 3)]


def test_a_car_back_within_the_slot_it_left_is_planned_and_replayed_alike() -> None:
    # the stay that ends in a slot the next one starts in ends at the slot before: the slot's
    # energy is the next stay's (it arrived with its own SoC); before, the first stay's target
    # read the next stay's energy, and the plan's objective was not its replayed cost
    home = reference_home(3, n_steps=24)
    start = home.grid.start_utc
    first = PlugInSession(
        arrival_utc=start + timedelta(hours=1, minutes=30),
        departure_utc=start + timedelta(hours=3, minutes=14),
        arrival_soc=0.42,
        target_soc=0.93,
    )
    back = PlugInSession(
        arrival_utc=first.departure_utc,
        departure_utc=start + timedelta(hours=7, minutes=20),
        arrival_soc=0.2,
        target_soc=0.5,
    )
    ev = replace(home.evs[0], sessions=(first, back))
    windows = session_windows(ev, home.grid)
    assert [w.slots for w in windows] == [(3, 4, 5), tuple(range(6, 15))]
    problem = replace(home, evs=(ev,))
    plan = optimise(problem, SolverOptions())
    assert plan.solver.status is PlanStatus.OPTIMAL
    assert "replays" not in plan.solver.message  # the solver's objective is its replay's
    assert plan.solver.objective_gbp == pytest.approx(plan.totals.objective_gbp, abs=1e-4)
