"""Planning on a Dask cluster (a real scheduler and worker processes on 127.0.0.1): the same
plans as the local pool; a slot's batch with a deadline flags the late homes, which keep their
last plans; a worker killed mid-batch loses no home and plans none twice; an unreachable
cluster means local planning, flagged, and back to the cluster when it answers; a home whose
plan raises does not stop the others."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from distributed import Client, LocalCluster
from fastapi.testclient import TestClient

from hems.app import create_app
from hems.clock import ManualClock
from hems.planner_dask import DaskPlanner
from hems.runtime import Runtime
from hems.settings import Settings
from kernel.devices import DeviceState

from .conftest import MONDAY_5PM
from .dask_fleet import fleet_runtime, local_cluster

HOMES = 4


def _cluster(port: int = 0) -> LocalCluster:
    """Two worker processes of one thread each on 127.0.0.1."""
    return local_cluster(port=port)


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with _cluster() as c:
        yield c


def _runtime(
    tmp_path: Path, scheduler: str = "", processes: int = 0, **settings: object
) -> Runtime:
    """``HOMES`` copies of the demo home (see :func:`fleet_runtime`)."""
    return fleet_runtime(tmp_path, HOMES, "FLEET", scheduler, processes, **settings)


def _plans(runtime: Runtime) -> dict[int, int]:
    """Each home's latest plan id."""
    store = runtime.store
    return {h: p for h in store.home_ids() if (p := store.latest_plan_id(h)) is not None}


def _audits(runtime: Runtime, home_id: int, action: str) -> int:
    return sum(a["action"] == action for a in runtime.store.audit(home_id))


def test_plans_through_the_cluster_equal_plans_through_the_local_pool(tmp_path, cluster):
    on_cluster = _runtime(tmp_path / "dask", cluster.scheduler_address)
    on_pool = _runtime(tmp_path / "pool", processes=1)
    try:
        asyncio.run(on_cluster.service.cycle_all())
        asyncio.run(on_pool.service.cycle_all())
        planner = on_cluster.service.planner
        assert isinstance(planner, DaskPlanner)
        assert (planner.plans_on_cluster, planner.plans_local) == (HOMES, 0)
        assert planner.health().fallback == ""
        for home_id in on_cluster.store.home_ids():
            a = on_cluster.store.latest_plan(home_id)
            b = on_pool.store.latest_plan(home_id)
            assert a is not None
            assert b is not None
            assert a.schedule.equals(b.schedule)
        report = on_cluster.service.plan_flags.last_batch
        assert report is not None
        assert (report.homes, report.late, report.failed) == (HOMES, 0, 0)
    finally:
        on_cluster.service.close()
        on_pool.service.close()


def test_a_batch_past_its_deadline_flags_late_homes_and_keeps_their_plans(tmp_path, cluster):
    runtime = _runtime(tmp_path, cluster.scheduler_address)
    service = runtime.service
    clock = service.clock
    assert isinstance(clock, ManualClock)
    try:
        asyncio.run(service.cycle_all())
        before = _plans(runtime)
        assert len(before) == HOMES
        # the next slot, with a deadline no plan can meet through the cluster
        clock.advance(timedelta(minutes=30))
        service.settings = service.settings.model_copy(update={"plan_deadline_s": 0.001})
        asyncio.run(service.cycle_all())
        assert _plans(runtime) == before  # every home keeps its last plan
        report = service.plan_flags.last_batch
        assert report is not None
        assert (report.late, report.failed) == (HOMES, 0)
        flags = service.plan_flags.homes()
        assert sorted(flags) == sorted(before)
        assert all(f.late == 1 and "deadline" in f.last_reason for f in flags.values())
        assert all(_audits(runtime, h, "plan.late") == 1 for h in before)
        # the late tasks were cancelled on the cluster, and the next slot plans again
        deadline = time.monotonic() + 10
        while cluster.scheduler.tasks and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not cluster.scheduler.tasks
        clock.advance(timedelta(minutes=30))
        service.settings = service.settings.model_copy(update={"plan_deadline_s": 120.0})
        asyncio.run(service.cycle_all())
        after = _plans(runtime)
        assert all(after[h] > before[h] for h in before)
    finally:
        service.close()


def test_a_poison_home_does_not_stop_the_batch(tmp_path, cluster):
    runtime = _runtime(tmp_path, cluster.scheduler_address)
    service = runtime.service
    try:
        poison = runtime.store.home_ids()[1]
        # a state no plan can start from: the plan raises in the worker (ProblemError)
        ctl = service.controller(poison)
        ctl.states["Battery"] = DeviceState(at_utc=MONDAY_5PM, power_kw=0.0, soc=float("nan"))
        asyncio.run(service.cycle_all())
        assert sorted(_plans(runtime)) == sorted(h for h in runtime.store.home_ids() if h != poison)
        flags = service.plan_flags.homes()
        assert list(flags) == [poison]
        assert flags[poison].failed == 1
        assert "initial_soc" in flags[poison].last_reason
        report = service.plan_flags.last_batch
        assert report is not None
        assert (report.late, report.failed) == (0, 1)
    finally:
        service.close()


def test_a_worker_killed_mid_batch_still_gets_every_home_planned_once(tmp_path):
    with _cluster() as cluster:
        runtime = _runtime(tmp_path, cluster.scheduler_address)
        service = runtime.service
        try:
            with Client(cluster, set_as_default=False) as client:
                pids: dict[str, int] = client.run(os.getpid)

            async def batch_with_a_kill() -> str:
                task = asyncio.create_task(service.cycle_all())
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:  # a worker busy with a plan (warming up)
                    busy = [a for a, ws in cluster.scheduler.workers.items() if ws.processing]
                    if busy:
                        os.kill(pids[busy[0]], signal.SIGKILL)
                        await task
                        return busy[0]
                    await asyncio.sleep(0.01)
                raise AssertionError("no worker got a plan")

            killed = asyncio.run(batch_with_a_kill())
            with pytest.raises(ProcessLookupError):  # it was killed, busy with a plan
                os.kill(pids[killed], 0)
            plans = _plans(runtime)
            assert sorted(plans) == sorted(runtime.store.home_ids())
            for home_id in plans:  # once each: no plan lost, none made twice
                assert (
                    len(
                        runtime.store.plans_between(
                            home_id, MONDAY_5PM, MONDAY_5PM + timedelta(hours=1)
                        )
                    )
                    == 1
                )
            assert service.plan_flags.homes() == {}
            planner = service.planner
            assert isinstance(planner, DaskPlanner)
            assert (planner.plans_on_cluster, planner.plans_local) == (HOMES, 0)
        finally:
            service.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_cluster_means_local_planning_flagged_until_it_answers(
    tmp_path, caplog: pytest.LogCaptureFixture
):
    port = _free_port()
    runtime = _runtime(tmp_path, f"tcp://127.0.0.1:{port}")
    service = runtime.service
    planner = service.planner
    assert isinstance(planner, DaskPlanner)
    planner.connect_timeout_s, planner.retry_every_s = 0.5, 0.2
    app = create_app(runtime.settings, runtime, run_scheduler=False)
    admin = {"Authorization": f"Bearer {runtime.new_tokens['admin']}"}
    try:
        with caplog.at_level(logging.WARNING, logger="hems.planner_dask"):
            asyncio.run(service.cycle_all())
            time.sleep(0.3)
            asyncio.run(service.heal_planner())  # tried again: still nobody there
        assert len(_plans(runtime)) == HOMES  # planned here
        assert (planner.plans_on_cluster, planner.plans_local) == (0, HOMES)
        said = [r for r in caplog.records if "cannot be reached" in r.getMessage()]
        assert len(said) == 1  # logged once
        with TestClient(app) as client:
            ready = client.get("/ready")
            assert ready.status_code == 200  # planning works, here
            assert "cannot be reached" in ready.json()["planner"]["fallback"]
            body = client.get("/admin/planner", headers=admin).json()
            assert body["backend"] == f"dask tcp://127.0.0.1:{port}"
            assert "cannot be reached" in body["fallback"]
            assert client.get("/admin/planner").status_code == 401

        with _cluster(port):  # the cluster comes up at that address
            time.sleep(0.3)
            asyncio.run(service.heal_planner())
            assert planner.health().fallback == ""
            service.clock.advance(timedelta(minutes=30))  # type: ignore[attr-defined]
            asyncio.run(service.cycle_all())
            assert planner.plans_on_cluster == HOMES
        # ... and goes away again: planned here, flagged, said once more
        service.clock.advance(timedelta(minutes=30))  # type: ignore[attr-defined]
        with caplog.at_level(logging.WARNING, logger="hems.planner_dask"):
            asyncio.run(service.cycle_all())
        assert (planner.plans_on_cluster, planner.plans_local) == (HOMES, 2 * HOMES)
        assert "stopped answering" in planner.health().fallback
        said = [r for r in caplog.records if "stopped answering" in r.getMessage()]
        assert len(said) == 1
    finally:
        service.close()


def test_a_bad_scheduler_address_or_deadline_is_refused_naming_the_setting(tmp_path, monkeypatch):
    from pydantic import ValidationError
    from typer.testing import CliRunner

    from hems.cli import app

    monkeypatch.setenv("HEMS_STATE_DIR", str(tmp_path / "state"))
    result = CliRunner().invoke(app, ["run", "--scheduler", "tls://127.0.0.1:8786"])  # no certs
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "planner_scheduler" in result.stderr
    assert not (tmp_path / "state").exists()  # nothing started
    with pytest.raises(ValidationError, match="plan_deadline_s must be shorter than a slot"):
        Settings(state_dir=tmp_path, slot_minutes=5, plan_deadline_s=300)
    private = {"planner_network_private": True}  # tcp:// off this machine (test_planner_tls)
    assert Settings(state_dir=tmp_path, planner_scheduler="tcp://10.0.0.2:8786", **private)


def test_a_batch_is_due_its_allowance_after_the_slot_starts_or_half_of_it_when_late():
    from hems.plan_batch import batch_budget_s

    assert batch_budget_s(MONDAY_5PM, 30, 120.0) == 120.0  # on time
    assert batch_budget_s(MONDAY_5PM + timedelta(seconds=10), 30, 120.0) == 110.0
    assert batch_budget_s(MONDAY_5PM + timedelta(seconds=100), 30, 120.0) == 60.0
    assert batch_budget_s(MONDAY_5PM + timedelta(minutes=20), 30, 120.0) == 60.0  # start-up
