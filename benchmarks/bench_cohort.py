"""The cohort without and with coordination under a cohort import limit (issue 29, docs/cohort.md).

Run: ``python -m benchmarks.bench_cohort [--homes 100] [--cohort fleet|simple]
[--limit-fraction F] [--repeats 3] [--backends thread,pool,dask] [--workers 2]``.
A synthetic cohort on one day of the bundled Agile sample
(:mod:`benchmarks.cohort_homes`): ``fleet`` (default), the fleet benchmark's cohort
(:mod:`hems.simulation.cohort`) built by the service's problem builder from 20:00 with every
car home; ``simple``, the module's own draws from noon with the cars arriving in the evening.
Prints, for the rule-based baseline plans, the uncoordinated plans and the plans coordinated
under a cohort import limit (by default the baseline's peak: the cohort makes no new peak;
``--limit-fraction F``: F x the uncoordinated peak): the cohort's peak import, herding index,
coincidence factor and bill; then the rounds to converge, the plans made, the cost of the
limit, the EV energy short and, for each backend, the wall time of a coordination (median of
``repeats`` runs, the backends interleaved in each repeat after one warm-up coordination each,
which fills the workers' kept models). Backends (:mod:`hems.cohort_rounds`, as the service
runs them): ``thread``, one plan after another in the coordination's thread; ``pool``, each
round on a process pool of ``workers`` (:class:`hems.planner_pool.PlannerPool`); ``dask``,
on a LocalCluster of ``workers`` processes (:class:`hems.planner_dask.DaskPlanner`, each
home's affinity). Each is compared with the first backend's coordination (rounds, shares,
imports, bill): with kept models (``--model-shapes``, 32 as the service) a plan is the same
only to the solver's gap, so coordinations may differ a little; with 0 they are identical.
HiGHS threads=1. Writes ``benchmarks/results/cohort.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from benchmarks.cohort_homes import cohort, fleet_cohort
from hems.cohort.coordination import Coordination, CoordinationOptions, measures_of
from hems.cohort.measures import CohortMeasures, import_kw
from hems.cohort_rounds import BackendRounds, coordinate_on
from hems.planner_backend import PlannerBackend
from optimiser import (
    ModelExtension,
    Problem,
    SolverOptions,
    optimise,
    prepare_planner_process,
    rule_based_plan,
)

RESULTS = Path(__file__).resolve().parent / "results"
OPTIONS = SolverOptions(threads=1)


BACKENDS = ("thread", "pool", "dask")


@contextmanager
def backend(name: str, workers: int) -> Iterator[PlannerBackend | None]:
    """The planner backend ``name`` (None: the coordination's thread), closed after."""
    if name == "thread":
        yield None
        return
    if name == "pool":
        from hems.planner_pool import PlannerPool
        from hems.service import start_planner_worker

        pool = PlannerPool(workers, initializer=start_planner_worker, initargs=(os.getpid(),))
        try:
            yield pool
        finally:
            pool.close()
        return
    from hems.backtest.parallel import start_local_cluster
    from hems.planner_dask import DaskPlanner

    cluster, client = start_local_cluster(workers)
    dask = DaskPlanner(cluster.scheduler_address, None)
    try:
        yield dask
    finally:
        dask.close()
        client.close()
        cluster.close()


def coordinated(
    planner: PlannerBackend | None,
    drawn: Sequence[tuple[Problem, Sequence[ModelExtension]]],
    limit_kw: float,
    options: CoordinationOptions,
    model_shapes: int = 32,
) -> Coordination:
    """The cohort coordinated with each round on ``planner``, as the service does it."""
    rounds = BackendRounds(
        planner=planner,
        loop=None,
        home_ids=list(range(len(drawn))),
        extensions=[e for _p, e in drawn],
        options=OPTIONS,
        model_shapes=model_shapes,
    )
    return asyncio.run(coordinate_on(rounds, [p for p, _e in drawn], limit_kw, options))


def difference(a: Coordination, b: Coordination) -> dict[str, object]:
    """How far coordination ``a`` is from ``b``: rounds and plans, the largest difference in
    a home's import in any slot and in a share, and the bills'."""
    imports = [
        float(np.abs(import_kw(x.schedule) - import_kw(y.schedule)).max(initial=0.0))
        for x, y in zip(a.plans, b.plans, strict=True)
    ]
    both = np.isfinite(a.shares_kw) & np.isfinite(b.shares_kw)
    return {
        "same": bool(
            (a.iterations, a.plans_made) == (b.iterations, b.plans_made)
            and np.array_equal(a.shares_kw, b.shares_kw)
            and max(imports, default=0.0) == 0.0
        ),
        "homes_differing": sum(d > 0 for d in imports),
        "max_import_diff_kw": round(max(imports, default=0.0), 4),
        "max_share_diff_kw": round(
            float(np.abs(a.shares_kw[both] - b.shares_kw[both]).max(initial=0)), 4
        ),
        "shared_slots_differ": bool((np.isfinite(a.shares_kw) != np.isfinite(b.shares_kw)).any()),
        "bill_diff_gbp": round(a.bill_after_gbp - b.bill_after_gbp, 4),
        "peak_after_diff_kw": round(a.after.peak_import_kw - b.after.peak_import_kw, 4),
    }


def homes_of(kind: str, homes: int) -> list[tuple[Problem, Sequence[ModelExtension]]]:
    if kind == "fleet":
        return [(p, tuple(e)) for p, e in fleet_cohort(homes)]
    return [(p, ()) for p in cohort(homes)]


def composition(problems: Sequence[Problem]) -> dict[str, int]:
    return {
        "homes": len(problems),
        "pv": sum(1 for p in problems if p.pv),
        "battery": sum(1 for p in problems if p.batteries),
        "ev": sum(1 for p in problems if p.evs),
        "heat_pump": sum(1 for p in problems if p.heat_pumps),
    }


def row(name: str, m: CohortMeasures, bill_gbp: float) -> dict[str, object]:
    return {
        "plans": name,
        "peak_import_kw": round(m.peak_import_kw, 2),
        "peak_slot": m.peak_slot,
        "herding_index": m.herding_index,
        "busiest_slot_share": m.busiest_slot_share,
        "coincidence_factor": m.coincidence_factor,
        "bill_gbp": round(bill_gbp, 3),
    }


def run(
    kind: str,
    homes: int,
    limit_fraction: float | None,
    repeats: int,
    max_iterations: int,
    backends: Sequence[str] = ("thread",),
    workers: int = 2,
    model_shapes: int = 32,
) -> dict[str, object]:
    drawn = homes_of(kind, homes)
    problems = [p for p, _e in drawn]
    optimise(problems[0], OPTIONS)  # warm-up (imports, plugins)
    prepare_planner_process()
    baselines = [rule_based_plan(p) for p in problems]
    base = measures_of(problems, baselines)
    alone = [optimise(p, OPTIONS, e) for p, e in drawn]
    peak_kw = measures_of(problems, alone).peak_import_kw
    limit_kw = base.peak_import_kw if limit_fraction is None else limit_fraction * peak_kw
    options = CoordinationOptions(max_iterations=max_iterations)
    walls: dict[str, list[float]] = {b: [] for b in backends}
    cpus: dict[str, list[float]] = {b: [] for b in backends}
    results: dict[str, Coordination] = {}
    with _backends(backends, workers) as planners:
        for b in backends:  # warm-up: workers started, models kept
            results[b] = coordinated(planners[b], drawn, limit_kw, options, model_shapes)
        for _ in range(repeats):
            for b in backends:
                t0, c0 = time.perf_counter(), time.process_time()
                results[b] = coordinated(planners[b], drawn, limit_kw, options, model_shapes)
                walls[b].append(time.perf_counter() - t0)
                cpus[b].append(time.process_time() - c0)
    result = results[backends[0]]
    return {
        "cohort": kind,
        "composition": composition(problems),
        "limit_kw": round(limit_kw, 2),
        "limit": "baseline peak" if limit_fraction is None else f"{limit_fraction} x uncoordinated",
        "rows": [
            row(
                "baseline (rule-based)", base, sum(p.totals.net_energy_cost_gbp for p in baselines)
            ),
            row("uncoordinated", result.before, result.bill_before_gbp),
            row("coordinated", result.after, result.bill_after_gbp),
        ],
        "converged": result.converged,
        "iterations": result.iterations,
        "plans_made": result.plans_made,
        "peak_by_iteration_kw": [round(x, 2) for x in result.peak_by_iteration_kw],
        "over_limit_kw": result.over_limit_kw,
        "over_share_kw": result.over_share_kw,
        "unreachable_slots": list(result.unreachable_slots),
        "cost_of_limit_gbp": round(result.cost_of_limit_gbp, 3),
        "ev_shortfall_kwh": [round(float(x), 3) for x in result.ev_shortfall_kwh],
        "workers": workers,
        "model_shapes": model_shapes,
        "backends": {
            b: {
                "wall_s_median": statistics.median(walls[b]),
                "wall_s": [round(w, 3) for w in walls[b]],
                "service_cpu_s_median": statistics.median(cpus[b]),
                "iterations": results[b].iterations,
                "plans_made": results[b].plans_made,
                "converged": results[b].converged,
                "peak_after_kw": round(results[b].after.peak_import_kw, 2),
                "cost_of_limit_gbp": round(results[b].cost_of_limit_gbp, 3),
                "against_first": difference(results[b], result),
            }
            for b in backends
        },
        "repeats": repeats,
        "load_average": os.getloadavg(),
    }


@contextmanager
def _backends(names: Sequence[str], workers: int) -> Iterator[dict[str, PlannerBackend | None]]:
    if not names:
        yield {}
        return
    with backend(names[0], workers) as first, _backends(names[1:], workers) as rest:
        yield {names[0]: first, **rest}


def _f(x: object, digits: int = 2) -> str:
    return "-" if x is None else f"{float(x):.{digits}f}"  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--homes", type=int, default=100)
    parser.add_argument("--cohort", choices=("fleet", "simple"), default="fleet")
    parser.add_argument("--limit-fraction", type=float, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-iterations", type=int, default=12)
    parser.add_argument("--backends", default="thread", help="of thread,pool,dask (interleaved)")
    parser.add_argument("--workers", type=int, default=2, help="the pool's or cluster's")
    parser.add_argument(
        "--model-shapes", type=int, default=32, help="kept models a worker (0: none, each built)"
    )
    args = parser.parse_args()
    fraction = args.limit_fraction
    backends = [b for b in args.backends.split(",") if b]
    if args.homes < 1 or args.repeats < 1 or (fraction is not None and not 0 < fraction <= 1):
        parser.error("--homes and --repeats need >= 1, --limit-fraction in (0, 1]")
    if not backends or set(backends) - set(BACKENDS) or args.workers < 1 or args.model_shapes < 0:
        parser.error(
            f"--backends: some of {','.join(BACKENDS)}; --workers >= 1, --model-shapes >= 0"
        )
    r = run(
        args.cohort,
        args.homes,
        args.limit_fraction,
        args.repeats,
        args.max_iterations,
        backends,
        args.workers,
        args.model_shapes,
    )
    print(f"{r['cohort']} cohort {r['composition']}, limit {r['limit_kw']} kW ({r['limit']})")
    print(f"{'plans':<24}{'peak kW':>9}{'slot':>6}{'herding':>9}{'coinc.':>8}{'bill GBP':>10}")
    for x in r["rows"]:  # type: ignore[attr-defined]
        print(
            f"{x['plans']:<24}{x['peak_import_kw']:>9.1f}{x['peak_slot']!s:>6}"
            f"{_f(x['herding_index']):>9}{_f(x['coincidence_factor']):>8}{x['bill_gbp']:>10.2f}"
        )
    print(
        f"converged {r['converged']} in {r['iterations']} rounds, {r['plans_made']} plans; "
        f"peak by round {r['peak_by_iteration_kw']}; over the limit {_f(r['over_limit_kw'], 3)} "
        f"kW, over a share {_f(r['over_share_kw'], 3)} kW"
    )
    print(
        f"cost of the limit {r['cost_of_limit_gbp']} GBP; EV short {r['ev_shortfall_kwh']} kWh "
        f"(without, with); {r['repeats']} repeats, load average {r['load_average']}"
    )
    for name, b in r["backends"].items():  # type: ignore[attr-defined]
        print(
            f"  {name:<7} median wall {b['wall_s_median']:.2f} s a coordination "
            f"(service CPU {b['service_cpu_s_median']:.2f} s; {b['wall_s']}), "
            f"{b['iterations']} rounds, {b['plans_made']} plans, peak {b['peak_after_kw']} kW, "
            f"cost {b['cost_of_limit_gbp']} GBP; against {backends[0]}: {b['against_first']}"
        )
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "cohort.json"
    out.write_text(json.dumps(r, indent=2, default=str))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
