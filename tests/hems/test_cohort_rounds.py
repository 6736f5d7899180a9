"""A coordination's rounds on the planner backend (hems/cohort_rounds.py, docs/cohort.md): the
same coordination on a real 2-process pool and on a LocalCluster as in the coordination's
thread (each plan built afresh: a kept model re-used by another home of its shape gives the
same plan only to the solver's gap, and which process of a pool plans a home is chance); a
plan late for the deadline stops it unconverged, the home named; in the service, the slot's
coordination and the operator's what-if plan on the cluster, and a home whose data is broken
does not stop the coordinated batch."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from distributed import LocalCluster

from benchmarks.cohort_homes import fleet_cohort
from hems.cohort.coordination import Coordination
from hems.cohort.measures import import_kw
from hems.cohort_rounds import BackendRounds, coordinate_on
from hems.planner_backend import PlannerBackend
from hems.planner_dask import DaskPlanner
from hems.planner_pool import PlannerPool
from hems.runtime import Runtime
from hems.storage.cohort_limits import CohortLimit
from hems.usecases.cohort_coordination import coordination
from kernel.devices import DeviceState
from optimiser import ModelExtension, Problem, SolverOptions, optimise

from .conftest import MONDAY_5PM
from .dask_fleet import fleet_runtime, local_cluster

HOMES = 6


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with local_cluster() as c:
        yield c


@pytest.fixture(scope="module")
def cohort() -> tuple[list[Problem], list[Sequence[ModelExtension]], float]:
    """Six homes of the fleet cohort, and a limit of 0.7 x their planned-alone peak."""
    drawn = fleet_cohort(HOMES)
    problems = [p for p, _e in drawn]
    extensions = [tuple(e) for _p, e in drawn]
    alone = [optimise(p, SolverOptions(), e) for p, e in drawn]
    peak_kw = float(np.sum([import_kw(p.schedule) for p in alone], axis=0).max())
    return problems, extensions, 0.7 * peak_kw


def _coordinated(
    planner: PlannerBackend | None,
    cohort: tuple[list[Problem], list[Sequence[ModelExtension]], float],
    deadline_s: float | None = None,
    model_shapes: int = 0,
) -> tuple[Coordination, BackendRounds]:
    problems, extensions, limit_kw = cohort
    rounds = BackendRounds(
        planner=planner,
        loop=None,
        home_ids=list(range(100, 100 + len(problems))),
        extensions=extensions,
        options=SolverOptions(),
        model_shapes=model_shapes,
        deadline_s=deadline_s,
    )
    return asyncio.run(coordinate_on(rounds, problems, limit_kw)), rounds


def _assert_same(a: Coordination, b: Coordination) -> None:
    assert (a.iterations, a.plans_made, a.converged) == (b.iterations, b.plans_made, b.converged)
    assert np.array_equal(a.shares_kw, b.shares_kw)
    for pa, pb in zip(a.plans, b.plans, strict=True):
        assert pa.schedule.equals(pb.schedule)
    assert a.cost_of_limit_gbp == b.cost_of_limit_gbp


def test_the_pool_and_the_cluster_coordinate_as_the_thread_does(cohort, cluster):
    in_thread, _ = _coordinated(None, cohort)
    assert in_thread.converged
    assert in_thread.iterations >= 1  # the limit binds
    assert in_thread.after.peak_import_kw <= cohort[2] + 0.06
    pool = PlannerPool(2)
    dask = DaskPlanner(cluster.scheduler_address, None)
    try:
        on_pool, _ = _coordinated(pool, cohort)
        on_cluster, rounds = _coordinated(dask, cohort)
    finally:
        pool.close()
        dask.close()
    _assert_same(on_pool, in_thread)
    _assert_same(on_cluster, in_thread)
    assert (dask.plans_on_cluster, dask.plans_local) == (in_thread.plans_made, 0)
    assert not rounds.failures


def test_a_plan_late_for_the_deadline_stops_the_coordination_naming_the_homes(cohort, cluster):
    dask = DaskPlanner(cluster.scheduler_address, None)
    try:
        result, rounds = _coordinated(dask, cohort, deadline_s=time.monotonic() - 1.0)
    finally:
        dask.close()
    assert not result.converged
    assert result.iterations == 0
    assert result.failed_homes == tuple(range(HOMES))
    assert {f.kind for f in rounds.failures.values()} == {"late"}
    assert all("deadline" in f.reason for f in rounds.failures.values())
    # the late tasks were cancelled on the cluster
    deadline = time.monotonic() + 10
    while cluster.scheduler.tasks and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not cluster.scheduler.tasks


def _runtime(tmp_path: Path, scheduler: str) -> Runtime:
    return fleet_runtime(tmp_path, 3, "COHORT", scheduler)


def _limit(runtime: Runtime, limit_kw: float) -> None:
    now = runtime.service.clock.now()
    limit = CohortLimit(
        limit_kw=limit_kw, start=now, end=now + timedelta(hours=6), set_by="test", set_at=now
    )
    runtime.store.set_cohort_limit(limit)


def _peak_kw(runtime: Runtime) -> float:
    made = [c.made for c in runtime.service.controllers.values()]
    return float(np.sum([import_kw(m.plan.schedule) for m in made if m is not None], axis=0).max())


def test_the_slots_coordination_and_the_what_if_plan_on_the_cluster(tmp_path, cluster):
    runtime = _runtime(tmp_path, cluster.scheduler_address)
    service = runtime.service
    planner = service.planner
    assert isinstance(planner, DaskPlanner)
    try:
        asyncio.run(service.cycle_all())
        assert (planner.plans_on_cluster, planner.plans_local) == (3, 0)
        limit_kw = round(0.75 * _peak_kw(runtime), 2)
        what_if = asyncio.run(coordination(service, limit_kw))
        assert what_if.converged
        assert what_if.plans_made > 3
        assert not what_if.failed
        assert planner.plans_on_cluster == 3 + what_if.plans_made  # before: in a thread
        _limit(runtime, limit_kw)
        service.clock.advance(timedelta(minutes=30))  # type: ignore[attr-defined]
        before = planner.plans_on_cluster
        asyncio.run(service.cycle_all())
        # the coordination (>= a plan a home) and the batch's re-plans, all on the cluster
        assert planner.plans_on_cluster >= before + 2 * 3
        assert planner.plans_local == 0
        assert all(c.cohort_share for c in service.controllers.values())
        assert not service.plan_flags.homes()
        assert _peak_kw(runtime) <= limit_kw + 0.06
    finally:
        service.close()


def test_a_home_whose_data_is_broken_does_not_stop_the_coordinated_batch(tmp_path):
    runtime = _runtime(tmp_path, "")  # in the coordination's thread
    service = runtime.service
    asyncio.run(service.cycle_all())
    _limit(runtime, round(0.75 * _peak_kw(runtime), 2))
    poison = runtime.store.home_ids()[1]
    ctl = service.controller(poison)  # no problem can be built from its battery's state
    ctl.states["Battery"] = DeviceState(at_utc=MONDAY_5PM, power_kw=0.0, soc=float("nan"))
    service.clock.advance(timedelta(minutes=30))  # type: ignore[attr-defined]
    asyncio.run(service.cycle_all())  # before: ProblemError out of the batch, no home planned
    flags = service.plan_flags.homes()
    assert list(flags) == [poison]
    assert flags[poison].failed == 1
    for home_id in runtime.store.home_ids():
        if home_id != poison:
            assert service.controllers[home_id].cohort_share
            stored = runtime.store.latest_plan(home_id)
            assert stored is not None
            assert "cohort import limit" in stored.trigger
