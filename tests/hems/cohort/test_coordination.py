"""Coordination under a cohort import limit on small cohorts of EV homes (docs/cohort.md)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial

import numpy as np
import pytest

from benchmarks.cohort_homes import cohort as simple_cohort
from benchmarks.cohort_homes import fleet_cohort
from hems.cohort.coordination import SHARE_EVENT_ID, coordinate, with_shares
from hems.cohort.measures import FloatArray
from kernel.dsr import DsrKind
from kernel.errors import ProblemError
from optimiser import (
    ElectricVehicle,
    Plan,
    PlanStatus,
    PlugInSession,
    Problem,
    TimeGrid,
    optimise,
)

START = datetime(2026, 1, 12, 0, 0, tzinfo=UTC)
GRID = TimeGrid(start_utc=START, step_minutes=60, n_steps=8)
# one slot much cheaper than the rest: every home alone charges there (herding)
PRICES = np.array([0.30, 0.25, 0.05, 0.20, 0.22, 0.24, 0.26, 0.30])
TOLERANCE_KW = 0.05


def ev_home(need_kwh: float, base_kw: float = 0.4, grid: TimeGrid = GRID) -> Problem:
    """A home whose 50 kWh car is plugged in all day and needs ``need_kwh`` by the end."""
    return Problem(
        grid=grid,
        import_price_gbp_per_kwh=PRICES[: grid.n_steps],
        base_load_kw=base_kw,
        evs=(
            ElectricVehicle(
                battery_capacity_kwh=50.0,
                max_charge_kw=7.4,
                charge_efficiency=1.0,
                sessions=(
                    PlugInSession(
                        arrival_utc=START - timedelta(hours=1),
                        departure_utc=grid.slot_start(grid.n_steps),
                        arrival_soc=0.2,
                        target_soc=0.2 + need_kwh / 50.0,
                    ),
                ),
            ),
        ),
    )


def cohort_import_kw(plans: tuple[Plan, ...]) -> FloatArray:
    return np.asarray(
        np.sum([p.schedule["grid_import_kw"].to_numpy() for p in plans], axis=0), dtype=np.float64
    )


def cohort() -> list[Problem]:
    return [ev_home(7.0), ev_home(6.0), ev_home(5.0), ev_home(3.0)]


def test_uncoordinated_homes_herd_into_the_cheap_slot_and_coordination_holds_the_limit() -> None:
    result = coordinate(cohort(), 10.0)
    assert result.before.peak_slot == 2
    assert result.before.peak_import_kw > 20.0
    assert result.converged
    total = cohort_import_kw(result.plans)
    assert total.max() <= 10.0 + TOLERANCE_KW
    assert result.after.peak_import_kw == pytest.approx(total.max())
    assert result.over_limit_kw <= TOLERANCE_KW
    # each home within its share where it has one, and the shares within the limit
    for plan, shares in zip(result.plans, result.shares_kw, strict=True):
        capped = np.isfinite(shares)
        assert (plan.schedule["grid_import_kw"].to_numpy()[capped] <= shares[capped] + 1e-6).all()
    finite = np.isfinite(result.shares_kw).all(axis=0)
    assert (result.shares_kw[:, finite].sum(axis=0) <= 10.0 + 1e-6).all()
    assert result.over_share_kw <= 1e-6
    # the energy still arrives, a little dearer, and the load is spread
    assert result.ev_shortfall_kwh[1] == pytest.approx(0.0, abs=1e-3)
    assert result.cost_of_limit_gbp > 0
    assert result.after.herding_index is not None
    assert result.before.herding_index is not None
    assert result.after.herding_index < result.before.herding_index
    assert result.peak_by_iteration_kw[0] == result.before.peak_import_kw
    assert len(result.peak_by_iteration_kw) == result.iterations + 1
    assert result.plans_made > len(result.plans)


def test_a_limit_the_cohort_already_keeps_changes_nothing() -> None:
    result = coordinate(cohort(), 100.0)
    assert result.converged
    assert result.iterations == 0
    assert result.plans == result.uncoordinated
    assert result.cost_of_limit_gbp == 0.0
    assert np.isinf(result.shares_kw).all()


def test_a_limit_only_in_some_slots_leaves_the_others_free() -> None:
    limit = np.full(8, np.inf)
    limit[2] = 4.0
    result = coordinate(cohort(), limit)
    assert result.converged
    total = cohort_import_kw(result.plans)
    assert total[2] <= 4.0 + TOLERANCE_KW
    assert np.isfinite(result.shares_kw[:, 2]).all()
    assert np.isinf(np.delete(result.shares_kw, 2, axis=1)).all()


def test_a_limit_below_the_base_load_is_reported_unreachable_and_ends() -> None:
    result = coordinate([ev_home(3.0, base_kw=2.0), ev_home(3.0, base_kw=2.0)], 3.0)
    assert result.unreachable_slots == tuple(range(8))
    assert result.iterations <= 12
    # every home is held to its floor: the flexible load does not add to the overload
    total = cohort_import_kw(result.plans)
    assert total.max() <= 4.0 + TOLERANCE_KW


def test_an_empty_cohort_coordinates_to_nothing() -> None:
    result = coordinate([], 10.0)
    assert result.converged
    assert result.plans == ()
    assert result.after.homes == 0


def test_homes_on_different_grids_or_a_limit_of_the_wrong_length_are_refused() -> None:
    other = TimeGrid(start_utc=START, step_minutes=60, n_steps=6)
    with pytest.raises(ProblemError, match="same grid"):
        coordinate([ev_home(3.0), ev_home(3.0, grid=other)], 10.0)
    with pytest.raises(ProblemError, match="limit_kw"):
        coordinate([ev_home(3.0)], [1.0, 2.0])
    with pytest.raises(ProblemError, match="limit_kw"):
        coordinate([ev_home(3.0)], -1.0)


def test_shares_reach_the_optimiser_as_one_import_cap_per_run_of_equal_values() -> None:
    shares = np.array([np.inf, 2.0, 2.0, 3.0, np.inf, np.inf, 1.0, 1.0])
    requests = with_shares(ev_home(3.0), shares, 20.0).dsr_requests
    assert [(r.kind, r.value_kw, r.event_id) for r in requests] == [
        (DsrKind.IMPORT_CAP, 2.0, SHARE_EVENT_ID),
        (DsrKind.IMPORT_CAP, 3.0, SHARE_EVENT_ID),
        (DsrKind.IMPORT_CAP, 1.0, SHARE_EVENT_ID),
    ]
    assert next((r.start_utc, r.end_utc) for r in requests) == (
        GRID.slot_start(1),
        GRID.slot_start(3),
    )


@pytest.mark.parametrize("kind", ["simple", "fleet"])
def test_a_mixed_cohort_of_the_benchmark_converges_within_the_limit(kind: str) -> None:
    """PV, batteries, heat pumps and EVs on a day of Agile prices (benchmarks/cohort_homes.py;
    the fleet's homes through the service's problem builder, with their extensions)."""
    drawn = [(p, []) for p in simple_cohort(6)] if kind == "simple" else fleet_cohort(6)
    homes = [p for p, _e in drawn]
    planners = [partial(optimise, options=None, extensions=e) for _p, e in drawn]
    alone = coordinate(homes, np.inf, planners=planners)
    limit = 0.7 * alone.before.peak_import_kw
    result = coordinate(homes, limit, planners=planners)
    assert result.converged
    assert result.after.peak_import_kw <= limit + TOLERANCE_KW
    assert result.over_share_kw <= TOLERANCE_KW
    assert result.unreachable_slots == ()


def test_each_home_can_plan_with_its_own_planner() -> None:
    calls: list[int] = []

    def planner_of(home: int) -> Callable[[Problem], Plan]:
        def plan(problem: Problem) -> Plan:
            calls.append(home)
            return optimise(problem)

        return plan

    homes = cohort()
    result = coordinate(homes, 10.0, planners=[planner_of(h) for h in range(len(homes))])
    assert result.converged
    assert sorted(set(calls)) == [0, 1, 2, 3]
    assert len(calls) == result.plans_made
    with pytest.raises(ProblemError, match="planners"):
        coordinate(homes, 10.0, planners=[optimise])


def test_each_round_is_one_batch_and_the_same_coordination() -> None:
    rounds: list[list[int]] = []

    def batch(homes: Sequence[int], problems: Sequence[Problem]) -> list[Plan | None]:
        rounds.append(list(homes))
        return [optimise(p) for p in problems]

    homes = cohort()
    result = coordinate(homes, 10.0, batch=batch)
    one_by_one = coordinate(homes, 10.0)
    assert rounds[0] == [0, 1, 2, 3]  # everyone alone, then the homes each round re-plans
    assert len(rounds) == result.iterations + 1
    assert sum(len(r) for r in rounds) == result.plans_made
    assert np.array_equal(result.shares_kw, one_by_one.shares_kw)
    for a, b in zip(result.plans, one_by_one.plans, strict=True):
        assert a.schedule.equals(b.schedule)
    assert result.failed_homes == ()


def test_a_plan_that_does_not_come_back_stops_the_coordination_unconverged() -> None:
    seen: list[int] = []

    def batch(homes: Sequence[int], problems: Sequence[Problem]) -> list[Plan | None]:
        # the first home re-planned in the first round after the plans alone fails
        lost = homes[0] if seen else -1
        seen.extend(homes)
        return [None if h == lost else optimise(p) for h, p in zip(homes, problems, strict=True)]

    homes = cohort()
    result = coordinate(homes, 10.0, batch=batch)
    assert not result.converged
    assert result.iterations == 1
    failed = seen[4]
    assert result.failed_homes == (failed,)
    assert result.plans[failed] is result.uncoordinated[failed]  # it counts with its plan before
    assert result.plans_made == len(seen) - 1

    # its first plan lost too: it counts with its rule-based plan, and nothing is re-planned
    def lost_first(homes: Sequence[int], problems: Sequence[Problem]) -> list[Plan | None]:
        return [None if h == 1 else optimise(p) for h, p in zip(homes, problems, strict=True)]

    lost = coordinate(homes, 10.0, batch=lost_first)
    assert (lost.converged, lost.iterations, lost.failed_homes) == (False, 0, (1,))
    assert lost.uncoordinated[1].solver.status == PlanStatus.FALLBACK
    assert lost.plans_made == 3
