"""A fleet of synthetic homes through the real service on a fast clock (issue 29, "Measured").

    python -m benchmarks.bench_fleet [--homes 20] [--hours 2] [--planner-processes 2]
        [--seed 0] [--speed 0] [--database-url URL | --postgres] [--dsrsp]
        [--telemetry-every-s 60] [--apply-every-s 15] [--scheduler tcp://host:8786]
        [--plan-deadline-s S] [--results DIR]

Builds the service as ``hems run`` does (``build_runtime``: SQLite in a temporary folder, or
``--database-url``; the planner backend the settings configure, here ``--planner-processes``
worker processes), draws ``--homes`` homes from the documented cohort
(:mod:`hems.simulation.cohort`), registers each through the operation ``POST /homes`` calls
(:func:`hems.usecases.homes.create_home`) with its consumer's preferences, and gives each the
service's simulated devices (:mod:`hems.simulation`, the car coming and going at the home's
habit). Then the benchmark is the timetable (:mod:`hems.scheduler`'s jobs, on a manual clock
moved from event to event): at every slot boundary the service's cycle of every home
(``CemService.cycle_all``: read devices, re-plan, dispatch), every ``apply_interval_s`` the
apply job (from 5 s past the slot), every 60 s the telemetry job (from 30 s past it), the
simulated physics advanced before each. Jobs due together run together; simulated time waits
for them, so nothing is skipped. ``--telemetry-every-s`` and ``--apply-every-s`` change those
two periods (0: the job is not run; the cycle still reads, stores telemetry and applies once a
slot): at the service's periods they cost more wall time than the plans on SQLite (every read
is a durable commit), which makes 1,000 homes for a day a run of hours.

``--speed S`` paces the clock S times faster than real time (a 30-minute slot every 1800/S s)
and counts a slot as missed when its batch ends after the next slot was due; ``--speed 0`` (the
default) runs as fast as the machine goes and reports the fastest speed at which every slot's
work (all jobs, from one cycle to the next) would have fitted in its slot.
The deadline: simulated time does not move while a slot's batch runs, so unpaced a slot has no
wall length of its own, and "no slot missed" means every home was re-planned in every slot
within the service's deadline (``plan_deadline_s``, wall seconds from the batch's start). Its
default, 120 s, is a real deployment's; a large fleet on one machine takes longer, and
``--plan-deadline-s 1700`` (under a real slot's 1,800 s: the service refuses a slot or more)
asks whether each slot's batch would fit in a real 30-minute slot. ``--postgres`` runs on a
throwaway local PostgreSQL server as the tests start one (``tests/hems/pg_cluster.py``; fsync
off, so its commits are cheaper than SQLite's durable ones).
``--dsrsp`` also runs each home's OpenADR VEN against the demo DSRSP (``hems dsrsp-sim`` as a
child process; costly: a VEN polls every second; its events are on the wall clock).
``--scheduler tcp://host:8786`` plans on that Dask cluster (the setting ``planner_scheduler``;
its workers' CPU is not measured here). The service's own deadline for a slot's plans
(``plan_deadline_s``, wall seconds, ``--plan-deadline-s``) still holds: a plan later than it is
cancelled, the home keeps its last plan, and the run counts it late.

Reported: plans per second per core (plans over the planner processes' CPU time: every process
this one started except the DSRSP; with ``--planner-processes 0`` the service process's own),
plans late for the service's deadline or failed, plan latency p50 / p95 (a home's re-plan as
the service awaits it, queueing for a worker included) and the optimiser's own time per plan,
each slot's batch time (median, max), slots missed, the store's commits a home a slot
(:mod:`benchmarks.store_commits`: durable commits are most of a fleet's cost), memory per home
(the service process's RSS growth over the run, homes and their simulated devices included,
over the homes) and the
database's size per home per simulated day (its growth over the run, and by table). Writes
``benchmarks/results/fleet.json``.

Each slot's plans are counted by outcome (optimal, stopped at the time limit with a
solution, the rule-based fallback), in its line as the run goes and in the JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psutil
from pydantic import ValidationError

from benchmarks.bench_service import free_port, percentile
from benchmarks.store_commits import count_commits
from hems.clock import ManualClock
from hems.controller import HomeController
from hems.domain.home import HomeSpec
from hems.domain.preferences import Preferences
from hems.dsrsp_process import DemoDsrspProcess
from hems.market import ReplayedMarket
from hems.runtime import Runtime, build_runtime
from hems.settings import Settings
from hems.simulation.cohort import CohortHome, draw_cohort
from hems.simulation.home import SimulatedHome, simulate_home
from hems.storage.health import database_size_bytes, table_sizes_bytes
from hems.usecases import homes as homes_uc
from optimiser import PlanStatus

RESULTS = Path(__file__).resolve().parent / "results"
UK = ZoneInfo("Europe/London")
SLOT_S = 1800
TELEMETRY_S = 60
"""The service's telemetry job period [s] (:mod:`hems.scheduler`)."""


@dataclass
class Measured:
    """What the run records as it goes."""

    plan_s: list[float] = field(default_factory=list)
    optimise_s: list[float] = field(default_factory=list)
    batch_s: list[float] = field(default_factory=list)
    plans_per_batch: list[int] = field(default_factory=list)
    missed: list[int] = field(default_factory=list)
    slot_starts: list[float] = field(default_factory=list)
    """Wall time [perf_counter s] at which each slot's cycle began, and the run's end last."""
    late: list[int] = field(default_factory=list)
    """Per slot, the homes whose plan missed the service's deadline (``plan_deadline_s``)."""
    failed: list[int] = field(default_factory=list)
    job_s: dict[str, float] = field(default_factory=dict)
    plan_status: list[str] = field(default_factory=list)
    """Each plan's outcome (``PlanStatus``: optimal, time_limit, fallback), as ``plan_s``."""
    outcomes: list[dict[str, int]] = field(default_factory=list)
    """Per slot, the cycle's plans by outcome (:func:`outcome_counts`)."""


@dataclass
class Job:
    """One of the service's periodic jobs on the simulated timetable [s from the start]."""

    name: str
    every_s: float
    next_s: float
    run: Callable[[], Awaitable[None]]


def fleet_settings(args: argparse.Namespace, state_dir: Path, vtn_url: str) -> Settings:
    """The service's settings for the run; plans wait for nothing (no re-plan delay)."""
    deadline = {} if args.plan_deadline_s is None else {"plan_deadline_s": args.plan_deadline_s}
    return Settings(
        state_dir=state_dir,
        database_url=args.database_url,
        planner_processes=args.planner_processes,
        planner_scheduler=args.scheduler,
        replan_delay_s=0.0,
        vtn_url=vtn_url,
        **deadline,
    )


def timed_replans(ctl: HomeController, measured: Measured) -> None:
    """Time each re-plan of the home as the service awaits it (the controller's own
    :meth:`HomeController.replan`, wrapped on this instance)."""
    inner = ctl.replan

    async def replan(
        trigger: str, home: HomeSpec | None = None, deadline_s: float | None = None
    ) -> int:
        t0 = time.perf_counter()
        plan_id = await inner(trigger, home, deadline_s)
        measured.plan_s.append(time.perf_counter() - t0)
        if ctl.made is not None:
            measured.optimise_s.append(ctl.made.plan.solver.total_s)
            measured.plan_status.append(ctl.made.plan.solver.status.value)
        return plan_id

    ctl.replan = replan  # type: ignore[method-assign]


def outcome_counts(statuses: list[str]) -> dict[str, int]:
    """Plans by outcome: optimal, stopped at the time limit with a solution, or the rule-based
    fallback (no solution: issue 29's "no solution (Unknown)" was one)."""
    return {s.value: statuses.count(s.value) for s in PlanStatus}


def add_homes(
    runtime: Runtime, cohort: list[CohortHome], days: int, measured: Measured
) -> list[int]:
    """Register the cohort through the service's operation and give each home its simulated
    devices and a timed controller."""
    service = runtime.service
    start = service.clock.now()
    assert runtime.devices is not None
    market = service.market if isinstance(service.market, ReplayedMarket) else ReplayedMarket()
    ids = []
    for home in cohort:
        created = homes_uc.create_home(service, home.spec, "bench_fleet")
        service.store.set_preferences(created.id, home.preferences, start, "bench_fleet")
        runtime.simulations[created.id] = simulate_home(
            home.spec,
            start,
            days=days,
            seed=home.seed,
            market=market,
            comfort_min_c=partial(comfort_min_c, home.preferences),
            ev_stays=home.ev_stays(start, days),
        )
        runtime.devices.simulated.add(created.id)
        timed_replans(service.controller(created.id), measured)
        ids.append(created.id)
    return ids


async def meter_vens(runtime: Runtime, ids: list[int], timeout_s: float = 60.0) -> None:
    """Once each home's VEN is made (the service makes it soon after the home is added), let
    it report the home's simulated meter to the DSRSP."""
    vens = runtime.vens
    if vens is None:
        return
    deadline = time.monotonic() + timeout_s
    while any(h not in vens.bridges for h in ids):
        if time.monotonic() > deadline:
            raise RuntimeError("the homes' VENs were not made within a minute")
        await asyncio.sleep(0.05)
    for home_id in ids:
        vens.bridges[home_id].site_power_kw = partial(site_power_kw, runtime.simulations[home_id])


def comfort_min_c(prefs: Preferences, at_utc: datetime) -> float:
    """The consumer's comfort minimum at an instant [°C] (the simulation's comfort check)."""
    return prefs.comfort_min_at(at_utc.astimezone(UK))


def site_power_kw(sim: SimulatedHome) -> float | None:
    """The simulated meter's site power [kW] (what the home's VEN reports to the DSRSP)."""
    return sim.site_power_kw


def planner_processes(exclude: set[int]) -> list[psutil.Process]:
    """Every process this one started (the planner's workers, however the backend runs
    them), except ``exclude`` and their children."""
    out = []
    for child in psutil.Process().children(recursive=True):
        try:
            parents = {p.pid for p in child.parents()}
        except psutil.NoSuchProcess:
            continue
        if child.pid not in exclude and not parents & exclude:
            out.append(child)
    return out


def cpu_s(processes: list[psutil.Process]) -> dict[int, float]:
    """User + system CPU time of each process still alive [s]."""
    out = {}
    for proc in processes:
        try:
            t = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        out[proc.pid] = t.user + t.system
    return out


def rss_mib(processes: list[psutil.Process]) -> float:
    total = 0
    for proc in processes:
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total / 2**20


async def warm_planner(runtime: Runtime, processes: int) -> None:
    """Start the planner's workers before the clock starts (their start-up and warm-up plan
    are not a slot's work): one short job per worker at once."""
    planner = runtime.service.planner
    if planner is not None:
        await asyncio.gather(*(planner.run(time.sleep, 0.5) for _ in range(processes)))


def timetable(
    runtime: Runtime, measured: Measured, apply_s: float, telemetry_s: float
) -> list[Job]:
    """The service's periodic jobs (:func:`hems.scheduler.build_scheduler`) on simulated time,
    the apply and telemetry jobs every ``apply_s`` and ``telemetry_s`` [s] (0: not run); each
    is timed, and the cycle's batch recorded per slot."""
    service = runtime.service

    async def cycle() -> None:
        await service.heal_planner()
        before, status_before = len(measured.plan_s), len(measured.plan_status)
        t0 = time.perf_counter()
        measured.slot_starts.append(t0)
        await service.cycle_all()
        measured.batch_s.append(time.perf_counter() - t0)
        measured.plans_per_batch.append(len(measured.plan_s) - before)
        report = service.plan_flags.last_batch
        measured.late.append(0 if report is None else report.late)
        measured.failed.append(0 if report is None else report.failed)
        outcomes = outcome_counts(measured.plan_status[status_before:])
        measured.outcomes.append(outcomes)
        print(  # as it goes: a run stopped early still says how far it got
            f"slot {len(measured.batch_s)}: {measured.plans_per_batch[-1]} plans in "
            f"{measured.batch_s[-1]:.1f} s ({measured.late[-1]} late, {measured.failed[-1]} "
            f"failed; {outcomes['optimal']} optimal, {outcomes['time_limit']} at the time limit, "
            f"{outcomes['fallback']} fallback); load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )

    def timed(name: str, job: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            t0 = time.perf_counter()
            await job()
            measured.job_s[name] = measured.job_s.get(name, 0.0) + time.perf_counter() - t0

        return run

    jobs = [Job("cycle", SLOT_S, 0.0, timed("cycle", cycle))]
    if apply_s > 0:
        jobs.append(Job("apply", apply_s, 5.0 % apply_s, timed("apply", service.apply_due_all)))
    if telemetry_s > 0:
        jobs.append(
            Job("telemetry", telemetry_s, telemetry_s / 2, timed("telemetry", service.read_all))
        )
    return jobs


async def run_clock(
    simulate: Callable[[], Awaitable[None]],
    clock: ManualClock,
    jobs: list[Job],
    hours: float,
    speed: float,
) -> list[int]:
    """Move the clock from one due job to the next for ``hours``, advancing the physics
    (``simulate``) before each; returns the slots (by index) whose batch ended after the next
    slot was due at ``speed`` (none counted at 0)."""
    start, total_s = clock.now(), hours * 3600
    wall0 = time.perf_counter()
    missed = []
    while (t := min(j.next_s for j in jobs)) < total_s:
        due = [j for j in jobs if j.next_s == t]
        if speed > 0:
            ahead_s = wall0 + t / speed - time.perf_counter()
            if ahead_s > 0:
                await asyncio.sleep(ahead_s)
        clock.set(start + timedelta(seconds=t))
        await simulate()
        await asyncio.gather(*(j.run() for j in due))
        late = speed > 0 and time.perf_counter() > wall0 + (t + SLOT_S) / speed
        if late and any(j.name == "cycle" for j in due):
            missed.append(int(t // SLOT_S))
        for j in due:
            j.next_s += j.every_s
    return missed


def slot_start(now: datetime) -> datetime:
    """The start of the slot that holds ``now`` (UTC)."""
    now = now.astimezone(UTC).replace(second=0, microsecond=0)
    return now - timedelta(minutes=now.minute % (SLOT_S // 60))


async def measure(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Build the service, add the cohort, run the clock; the raw figures."""
    dsrsp = None
    if args.dsrsp:
        dsrsp = DemoDsrspProcess(port=free_port(), state_dir=work / "dsrsp")
        await dsrsp.start()
    clock = ManualClock(slot_start(datetime.now(UTC)))
    settings = fleet_settings(args, work, dsrsp.url if dsrsp is not None else "")
    runtime = build_runtime(settings, clock, seed=args.seed)
    engine = runtime.store.engine
    measured = Measured()
    try:
        if runtime.vens is not None:
            runtime.vens.start()
        await warm_planner(runtime, args.planner_processes)
        exclude = {dsrsp.pid} if dsrsp is not None and dsrsp.pid is not None else set()
        me = psutil.Process()
        rss0_mib = me.memory_info().rss / 2**20
        t0 = time.perf_counter()
        cohort = draw_cohort(args.homes, args.seed)
        ids = add_homes(runtime, cohort, days=int(args.hours // 24) + 2, measured=measured)
        await meter_vens(runtime, ids)
        add_s = time.perf_counter() - t0
        db0, tables0 = database_size_bytes(engine), table_sizes_bytes(engine)
        workers = planner_processes(exclude)
        cpu0, me_cpu0 = cpu_s(workers), sum(me.cpu_times()[:2])
        commits = count_commits(engine)
        t0 = time.perf_counter()
        if args.apply_every_s is None:
            args.apply_every_s = settings.apply_interval_s
        jobs = timetable(runtime, measured, args.apply_every_s, args.telemetry_every_s)
        measured.missed = await run_clock(runtime.simulate, clock, jobs, args.hours, args.speed)
        wall_s = time.perf_counter() - t0
        measured.slot_starts.append(t0 + wall_s)
        workers = planner_processes(exclude)
        cpu1, me_cpu_s = cpu_s(workers), sum(me.cpu_times()[:2]) - me_cpu0
        store_commits = commits.count
        await runtime.service.settle()
        raw = {
            "homes": len(ids),
            "add_homes_s": add_s,
            "wall_s": wall_s,
            "service_cpu_s": me_cpu_s,
            "store_commits": store_commits,
            "planner_cpu_s": sum(c - cpu0.get(pid, 0.0) for pid, c in cpu1.items()),
            "planner_pids": sorted(cpu1),
            "rss0_mib": rss0_mib,
            "rss1_mib": me.memory_info().rss / 2**20,
            "planner_rss_mib": rss_mib(workers),
            "db0_bytes": db0,
            "db1_bytes": database_size_bytes(engine),
            "tables0": tables0,
            "tables1": table_sizes_bytes(engine),
            "dialect": engine.dialect.name,
        }
    finally:
        if runtime.vens is not None:
            await runtime.vens.stop()
        runtime.service.close()
        if dsrsp is not None:
            await dsrsp.stop()
    return summarise(args, raw, measured)


def summarise(args: argparse.Namespace, raw: dict[str, Any], m: Measured) -> dict[str, Any]:
    """The figures of one run from what it measured."""
    homes, days = raw["homes"], args.hours / 24
    in_threads = args.planner_processes == 0 or not raw["planner_pids"]
    cpu_s = raw["service_cpu_s"] if in_threads else raw["planner_cpu_s"]
    source = (
        "service process (plans in its threads)"
        if in_threads
        else f"{len(raw['planner_pids'])} planner processes"
    )
    if args.scheduler:  # the cluster's workers are not this machine's processes
        cpu_s, source = 0.0, f"Dask cluster {args.scheduler}: not measured here"
    plans = len(m.plan_s)
    slots = len(m.batch_s)
    max_batch_s = max(m.batch_s) if m.batch_s else float("nan")
    # every job's work in each slot (unpaced: the wall time from one cycle to the next)
    slot_work_s = [b - a for a, b in zip(m.slot_starts, m.slot_starts[1:], strict=False)]
    return {
        "homes": homes,
        "hours": args.hours,
        "slots": slots,
        "plans": plans,
        "plans_by_the_cycle": sum(m.plans_per_batch),
        "homes_not_replanned_in_a_slot": sum(max(0, homes - n) for n in m.plans_per_batch),
        "plans_late": sum(m.late),
        "plans_failed": sum(m.failed),
        "late_by_slot": m.late,
        "plans_by_outcome": outcome_counts(m.plan_status),
        "outcomes_by_slot": m.outcomes,
        "planner_cpu_source": source,
        "planner_cpu_s": cpu_s,
        "plans_per_s_per_core": plans / cpu_s if cpu_s > 0 else None,
        "plan_latency_p50_s": percentile(m.plan_s, 0.5) if m.plan_s else None,
        "plan_latency_p95_s": percentile(m.plan_s, 0.95) if m.plan_s else None,
        "optimise_p50_s": percentile(m.optimise_s, 0.5) if m.optimise_s else None,
        "optimise_p95_s": percentile(m.optimise_s, 0.95) if m.optimise_s else None,
        "batch_median_s": statistics.median(m.batch_s) if m.batch_s else None,
        "batch_max_s": max_batch_s,
        "batch_s": m.batch_s,
        "speed": args.speed,
        "telemetry_every_s": args.telemetry_every_s,
        "apply_every_s": args.apply_every_s,
        "slots_missed": len(m.missed) if args.speed > 0 else None,
        "missed_slot_indexes": m.missed,
        "slot_work_max_s": max(slot_work_s),
        "fastest_speed_kept_up": SLOT_S / max(slot_work_s),
        "wall_s": raw["wall_s"],
        "simulated_s_per_wall_s": args.hours * 3600 / raw["wall_s"],
        "job_wall_s": m.job_s,
        "service_cpu_s": raw["service_cpu_s"],
        "store_commits": raw["store_commits"],
        "store_commits_per_home_per_slot": raw["store_commits"] / homes / max(slots, 1),
        "add_homes_s": raw["add_homes_s"],
        "service_rss_mib": raw["rss1_mib"],
        "rss_per_home_kib": 1024 * (raw["rss1_mib"] - raw["rss0_mib"]) / homes,
        "planner_rss_mib": raw["planner_rss_mib"],
        "database": raw["dialect"],
        "database_bytes": raw["db1_bytes"],
        "database_bytes_per_home_after_adding": raw["db0_bytes"] / homes,
        "database_bytes_per_home_per_day": (raw["db1_bytes"] - raw["db0_bytes"]) / homes / days,
        "table_bytes_per_home_per_day": growth_by_table(
            raw["tables0"], raw["tables1"], homes, days
        ),
    }


def growth_by_table(
    before: dict[str, int], after: dict[str, int], homes: int, days: float
) -> dict[str, float]:
    """Each table's growth per home per simulated day [bytes], largest first (empty when the
    database cannot say)."""
    growth = {t: (after[t] - before.get(t, 0)) / homes / days for t in after}
    return dict(sorted(((t, g) for t, g in growth.items() if g > 0), key=lambda x: -x[1]))


def print_summary(r: dict[str, Any]) -> None:
    def ms(key: str) -> str:
        return "-" if r[key] is None else f"{1000 * r[key]:.0f} ms"

    missed = "not paced" if r["slots_missed"] is None else f"{r['slots_missed']} missed"
    print(
        f"{r['homes']} homes x {r['hours']:g} h ({r['slots']} slots, {r['plans']} plans) in "
        f"{r['wall_s']:.0f} s, {r['simulated_s_per_wall_s']:.0f}x real time; load average "
        f"{r['load_average_1min_at_end']:.2f}"
    )
    rate = r["plans_per_s_per_core"]
    print(
        f"  plans/s/core {'-' if rate is None else f'{rate:.1f}'} ({r['planner_cpu_source']}); "
        f"plan latency p50 {ms('plan_latency_p50_s')}, p95 {ms('plan_latency_p95_s')}; "
        f"optimiser p50 {ms('optimise_p50_s')}, p95 {ms('optimise_p95_s')}"
    )
    by = r["plans_by_outcome"]
    print(
        f"  plans {by['optimal']} optimal, {by['time_limit']} at the time limit with a "
        f"solution, {by['fallback']} rule-based fallback"
    )
    print(
        f"  slot batch median {ms('batch_median_s')}, max {ms('batch_max_s')}; slots {missed}; "
        f"homes not re-planned in a slot {r['homes_not_replanned_in_a_slot']} ({r['plans_late']}"
        f" late, {r['plans_failed']} failed); keeps up to "
        f"{r['fastest_speed_kept_up'] or 0:.0f}x real time"
    )
    print(
        f"  memory {r['rss_per_home_kib']:.0f} KiB a home (service {r['service_rss_mib']:.0f} MiB,"
        f" planners {r['planner_rss_mib']:.0f} MiB); {r['database']} "
        f"{r['database_bytes_per_home_per_day'] / 1024:.0f} KiB a home a simulated day "
        f"({r['database_bytes_per_home_after_adding'] / 1024:.0f} KiB a home once added)"
    )
    print(
        f"  service CPU {r['service_cpu_s']:.1f} s; store commits {r['store_commits']} "
        f"({r['store_commits_per_home_per_slot']:.1f} a home a slot)"
    )
    tables = list(r["table_bytes_per_home_per_day"].items())[:3]
    if tables:
        print("  growing most: " + ", ".join(f"{t} {b / 1024:.0f} KiB" for t, b in tables))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--homes", type=int, default=20)
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--planner-processes", type=int, default=2)
    parser.add_argument("--database-url", default="", help="empty: SQLite in a temporary folder")
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="on a throwaway local PostgreSQL server, started as the tests start it "
        "(tests/hems/pg_cluster.py: fsync off, so not as durable as SQLite's commits)",
    )
    parser.add_argument("--speed", type=float, default=0.0, help="0: as fast as possible")
    parser.add_argument("--dsrsp", action="store_true", help="VENs talk to the demo DSRSP")
    parser.add_argument(
        "--scheduler",
        default="",
        help="plan on this Dask scheduler (tcp://host:8786; the setting planner_scheduler)",
    )
    parser.add_argument(
        "--plan-deadline-s",
        type=float,
        default=None,
        help="the service's plan_deadline_s (wall seconds from the slot's start; default its own)",
    )
    parser.add_argument(
        "--telemetry-every-s",
        type=float,
        default=float(TELEMETRY_S),
        help="the telemetry job's period [simulated s]; 0: not run (the cycle reads each slot)",
    )
    parser.add_argument(
        "--apply-every-s",
        type=float,
        default=None,
        help="the apply job's period [simulated s]; default the service's apply_interval_s; "
        "0: not run (the cycle applies each slot)",
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="directory for the JSON")
    args = parser.parse_args(argv)
    if args.homes < 1 or args.hours <= 0 or args.seed < 0 or args.speed < 0:
        parser.error("--homes >= 1, --hours > 0, --seed >= 0 and --speed >= 0, please")
    if args.telemetry_every_s < 0 or (args.apply_every_s or 0) < 0:
        parser.error("--telemetry-every-s and --apply-every-s must be 0 or more")
    if args.planner_processes < 0:
        parser.error("--planner-processes must be 0 or more")
    if args.postgres and args.database_url:
        parser.error("--postgres or --database-url, not both")
    load_start = os.getloadavg()[0]
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as work, ExitStack() as cleanup:
        try:
            fleet_settings(args, Path(work), "")
        except ValidationError as exc:
            parser.error(f"these settings cannot run the service: {exc}")
        if args.postgres:
            from tests.hems.pg_cluster import ThrowawayCluster

            cluster = ThrowawayCluster.create()
            cleanup.callback(cluster.stop)
            cluster.start()
            args.database_url = cluster.url()
        result = asyncio.run(measure(args, Path(work)))
    result |= {
        "when_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.node(),
        "cpus": os.cpu_count(),
        "seed": args.seed,
        "planner_processes": args.planner_processes,
        "scheduler": args.scheduler,
        "plan_deadline_s": args.plan_deadline_s,
        "dsrsp": args.dsrsp,
        "load_average_1min_at_start": round(load_start, 2),
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
    }
    print_summary(result)
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "fleet.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
