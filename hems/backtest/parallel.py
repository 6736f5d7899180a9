"""Many homes and strategies in parallel with Dask distributed.

One task per (home, strategy): :func:`run_many` starts a ``LocalCluster`` of processes with one
thread each (``n_workers`` = the machine's cores unless given; HiGHS and the simulation are
single-threaded and hold the GIL, so processes, not threads) or connects to a running
scheduler (``scheduler="tls://host:8786"`` with certificates, or ``tcp://`` on loopback or a
private network: :mod:`hems.planner_security`'s checks, as for the service's planner; the same
code on a real cluster: the workers need this package installed). Each home's config is sent
to the workers once (scattered); results come back as
:class:`~hems.backtest.engine.RunResult` and are gathered into one
:class:`~hems.backtest.kpis.BacktestResults` with a ``home`` column. A progress bar (rich)
counts finished runs.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from rich.progress import Progress, TaskID

from hems.backtest.config import BacktestConfig, Cadence
from hems.backtest.data import DataReport, SeriesReport
from hems.backtest.engine import RunResult, run_strategy
from hems.backtest.kpis import BacktestResults, results_for
from hems.backtest.strategies import STRATEGY_NAMES, strategy_named
from hems.planner_security import ClusterAccess, access_problem, dask_security
from optimiser import prepare_planner_process

if TYPE_CHECKING:
    from distributed import Client, LocalCluster

Done = Callable[[RunResult], None]
"""Called in the client as each run finishes (progress)."""


_PREPARED_PIDS: set[int] = set()


PLANNING_NAMES = frozenset({"planner", "perfect_foresight"})
"""Strategies that plan (and so run longest)."""

LOCAL_CLUSTER_CONFIG: dict[str, object] = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "1s",
}
"""Dask settings of the LocalCluster :func:`run_many` starts: no statistical profiler in the
workers, and the event loops' health ticks, resource monitors and memory checks at 1-5 s
instead of 10-500 ms. Dask's defaults suit a dashboard user; here they cost the CPU the runs
need. Each worker's event loop took 7.4 % of a core beside its task (the profiler alone sampled
the task's stack every 10 ms) and the client's process (scheduler, nannies) 5.5 %, from the
planner's 89-90 % on a machine of two cores (per-thread CPU from ``/proc`` over 25 s of a
30-day run). With these: 0.4 % and 1.2 %, the planner 99 %; the 30-day run's wall 47.5-49.8 s
-> 41.7 s (docs/performance.md). A cluster given by address keeps its own settings."""


def run_one(config: BacktestConfig, strategy: str, cadence: str) -> RunResult:
    """One home, one strategy (the task a worker runs). The first task in a worker process
    prepares it for planning (:func:`optimiser.prepare_planner_process`: warm-up, frozen
    start-up heap)."""
    if os.getpid() not in _PREPARED_PIDS:
        prepare_planner_process()
        _PREPARED_PIDS.add(os.getpid())
    return run_strategy(config, strategy_named(strategy, config, Cadence(cadence)))


def run_many(
    configs: Sequence[BacktestConfig],
    strategies: Sequence[str] = ("planner", "naive"),
    *,
    cadence: Cadence | str = Cadence.HOURLY,
    scheduler: str | ClusterAccess | None = None,
    workers: int | None = None,
    progress: bool = True,
    on_done: Done | None = None,
) -> BacktestResults:
    """Run every strategy (by name, :data:`STRATEGY_NAMES`) for every config, in parallel.

    Args:
        configs: one per home; their ``home_id`` must differ.
        scheduler: a Dask scheduler's address, or with its TLS files
            (:class:`~hems.planner_security.ClusterAccess`); None starts a LocalCluster here.
            As for the service's planner, ``tcp://`` reaches only a loopback address unless
            the access declares the network private; elsewhere ``tls://`` with certificates.
        workers: the LocalCluster's worker processes (default: the machine's cores).
        progress: show a progress bar of finished runs.
        on_done: called with each finished run.

    Raises:
        ValueError: an unknown or repeated strategy, no config, two configs with the same
            ``home_id``, or a scheduler that must not be reached as given
            (:func:`~hems.planner_security.access_problem`).
    """
    from distributed import Client, as_completed

    access = ClusterAccess(scheduler) if isinstance(scheduler, str) else scheduler
    problem = _request_problem(configs, strategies, workers, access)
    if problem:
        raise ValueError(problem)
    chosen = Cadence(cadence).value
    cluster = None
    if access is None:
        cluster, client = start_local_cluster(workers)
    else:
        client = Client(access.planner_scheduler, security=dask_security(access))
    try:
        futures = []
        token = uuid.uuid4().hex  # this call's tasks, apart from any other client's
        for config in configs:
            # on every worker: a config held by one worker drew all its tasks there (data
            # locality), and a year in chunks ran 16 min on one worker and 10 on the other
            remote = client.scatter(config, broadcast=True)
            futures += [
                client.submit(
                    run_one,
                    remote,
                    s,
                    chosen,
                    pure=False,
                    key=task_key(s, config.home_id, token),
                    # the planning strategies take minutes where a baseline takes seconds:
                    # started first, they do not leave one worker busy at the end
                    priority=1 if s in PLANNING_NAMES else 0,
                )
                for s in strategies
            ]
        runs: list[RunResult] = []
        bar = _bar(len(futures)) if progress else None
        try:
            for future in as_completed(futures):
                run: RunResult = future.result()
                runs.append(run)
                if on_done is not None:
                    on_done(run)
                if bar is not None:
                    bar[0].advance(bar[1])
        finally:
            if bar is not None:
                bar[0].stop()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    order = {
        (c.home_id, s): i for i, (c, s) in enumerate((c, s) for c in configs for s in strategies)
    }
    runs.sort(key=lambda r: order[(r.home, r.strategy)])
    return results_for(runs, configs[0], _merged_reports(configs))


def _request_problem(
    configs: Sequence[BacktestConfig],
    strategies: Sequence[str],
    workers: int | None,
    access: ClusterAccess | None,
) -> str | None:
    """Why :func:`run_many` must not start (before any cluster starts or is reached)."""
    ids = [c.home_id for c in configs]
    unknown = [s for s in strategies if s not in STRATEGY_NAMES]
    if not configs:
        return "no home to run"
    if len(set(ids)) != len(ids):
        return f"home_id must differ between configs, got {ids}"
    if unknown or not strategies:
        return f"unknown strategies {unknown}; choose from {', '.join(STRATEGY_NAMES)}"
    if len(set(strategies)) != len(strategies):
        return f"each strategy once, got {list(strategies)}"
    if workers is not None and workers < 1:
        return f"workers must be at least 1, got {workers}"
    return access_problem(access) if access is not None else None


def start_local_cluster(workers: int | None = None) -> tuple[LocalCluster, Client]:
    """A LocalCluster of ``workers`` processes (default: the machine's cores) with one thread
    each and :data:`LOCAL_CLUSTER_CONFIG`, and a client of it."""
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set(LOCAL_CLUSTER_CONFIG):  # read as the cluster and workers start
        cluster = LocalCluster(
            n_workers=workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # any free port: None still took 8787, and a second
            # cluster on the machine (another run, a notebook) then failed to start
        )
        return cluster, Client(cluster)


def task_key(strategy: str, home_id: str, token: str) -> tuple[str, str]:
    """The Dask key of one (home, strategy) run: ``("<strategy>-<token>", home_id)``.

    Dask groups tasks by the key's prefix, which here is the strategy's name (the hex token is
    dropped), and learns a group's duration from its first finished task. Keyed by home first
    (``"home#3-planner"``), every task was a group of its own, of a duration never learned, and
    a year in chunks left a worker idle for long stretches (docs/performance.md). The token
    keeps two calls' tasks apart on a shared cluster."""
    return (f"{strategy}-{token}", home_id)


def _bar(total: int) -> tuple[Progress, TaskID]:
    bar = Progress(transient=True)
    task = bar.add_task(f"{total} runs", total=total)
    bar.start()
    return bar, task


def _merged_reports(configs: Sequence[BacktestConfig]) -> DataReport | None:
    seen: dict[tuple[str, str], SeriesReport] = {}
    for c in configs:
        if c.data_report is not None:
            for s in c.data_report.series:
                seen.setdefault((s.name, s.source), s)
    return DataReport(series=tuple(seen.values())) if seen else None
