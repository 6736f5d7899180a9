"""The planner's worker process killed (SIGKILL): the service replaces it, re-plans what it
lost, tells the truth on /ready meanwhile and never answers 500; a plan that kills its worker
every time fails alone, after a bounded number of tries, while other plans go on. Before,
the pool stayed broken: every plan failed for good, a boost answered 500 and /ready 200."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from hems.app import create_app
from hems.clock import ManualClock
from hems.planner_pool import PlanFailedError, PlannerPool
from hems.runtime import build_runtime
from hems.settings import Settings

from .conftest import MONDAY_5PM


def _kill(pids: list[int]) -> None:
    for pid in pids:
        os.kill(pid, signal.SIGKILL)


@pytest.fixture
def served(tmp_path):
    """The demo home with a real planner worker process, behind the API (the car is home)."""
    clock = ManualClock(MONDAY_5PM + timedelta(hours=1, minutes=5))
    settings = Settings(state_dir=tmp_path, demo=True, planner_processes=1, replan_delay_s=0.0)
    runtime = build_runtime(settings, clock, seed=7)
    home_id = next(iter(runtime.simulations))
    runtime.service.controller(home_id).rng = random.Random(7)
    app = create_app(settings, runtime, run_scheduler=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield (
            runtime,
            home_id,
            client,
            {"Authorization": f"Bearer {runtime.new_tokens['demo home']}"},
        )


def test_a_killed_planner_worker_is_replaced_and_the_lost_plan_made(served):
    runtime, home_id, client, auth = served
    service = runtime.service
    first = asyncio.run(service.replan_and_dispatch(home_id, "first"))
    assert client.get("/ready").status_code == 200
    workers = service.planner.pids()
    assert len(workers) == 1

    # killed while idle: /ready says so (and why) until the worker is replaced
    _kill(workers)
    deadline = time.monotonic() + 10
    while (ready := client.get("/ready")).status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ready.status_code == 503
    assert "planner" in ready.json()["detail"]
    assert client.get("/health").status_code == 200  # the process is fine

    # a boost now waits for the new worker and is planned (or would be refused with a 503)
    boost = client.post(f"/homes/{home_id}/overrides", json={"kind": "ev_boost"}, headers=auth)
    assert boost.status_code == 201, boost.text
    assert client.get("/ready").status_code == 200
    assert service.planner.pids() != workers
    plan = client.get(f"/homes/{home_id}/plan", headers=auth).json()
    assert plan["id"] > first
    assert plan["trigger"] == "override ev_boost"

    # killed in the middle of a plan: the plan is made again on a new worker
    async def plan_and_kill() -> int:
        planning = asyncio.ensure_future(service.replan_and_dispatch(home_id, "killed mid-plan"))
        while service.planner.busy == 0:
            await asyncio.sleep(0.005)
        _kill(service.planner.pids())
        return await planning

    restarts = service.planner.restarts
    again = asyncio.run(plan_and_kill())
    assert again > plan["id"]
    assert service.planner.restarts == restarts + 1
    assert runtime.store.latest_plan(home_id).trigger == "killed mid-plan"
    assert client.get("/ready").status_code == 200


def _square(x: int) -> int:
    return x * x


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_plan_that_kills_its_worker_every_time_fails_alone():
    pool = PlannerPool(1, max_attempts=3, retry_backoff_s=0.05)
    try:

        async def both() -> list[object]:
            return await asyncio.gather(
                pool.run(_die), pool.run(_square, 7), return_exceptions=True
            )

        poisoned, fine = asyncio.run(both())
        assert isinstance(poisoned, PlanFailedError)
        assert "3 attempts" in str(poisoned)
        assert fine == 49  # caught in the first crash, made on its second try
        assert "stopped" in pool.unavailable_reason()  # the last crash broke the pool
        asyncio.run(pool.heal())  # what the scheduler's planner job does every 5 s
        assert pool.unavailable_reason() is None
        assert asyncio.run(pool.run(_square, 3)) == 9  # and the pool goes on
    finally:
        pool.close()
