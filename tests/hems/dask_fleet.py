"""Helpers for the Dask planner tests: a LocalCluster of worker processes on 127.0.0.1 and a
runtime of copies of the demo home planned on it (or in a pool, or here)."""

from __future__ import annotations

from pathlib import Path

import dask
from distributed import LocalCluster

from hems.backtest.parallel import LOCAL_CLUSTER_CONFIG
from hems.clock import ManualClock
from hems.demo import demo_home_spec
from hems.runtime import Runtime, build_runtime
from hems.settings import Settings

from .conftest import MONDAY_5PM


def local_cluster(workers: int = 2, port: int = 0, stealing: bool = True) -> LocalCluster:
    """``workers`` worker processes of one thread each on 127.0.0.1, the scheduler on ``port``
    (0: any free one); ``stealing``: the scheduler's work stealing (on by Dask's default)."""
    config = {**LOCAL_CLUSTER_CONFIG, "distributed.scheduler.work-stealing": stealing}
    with dask.config.set(config):
        return LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            scheduler_port=port,
            dashboard_address=":0",
        )


def fleet_runtime(
    tmp_path: Path,
    homes: int,
    name: str,
    scheduler: str = "",
    processes: int = 0,
    **settings: object,
) -> Runtime:
    """``homes`` copies of the demo home (``name``-0, ``name``-1, ...; no devices attached:
    planned from their specs) on a six-hour horizon, at the start of a slot."""
    config = Settings(
        state_dir=tmp_path,
        planner_processes=processes,
        planner_scheduler=scheduler,
        horizon_hours=6,
        **settings,  # type: ignore[arg-type]
    )
    runtime = build_runtime(config, ManualClock(MONDAY_5PM))
    for i in range(homes):
        runtime.store.create_home(demo_home_spec(f"{name}-{i}"), MONDAY_5PM, "test")
    return runtime
