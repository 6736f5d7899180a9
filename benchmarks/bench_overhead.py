"""The optimiser's fixed cost on homes with few assets, against a plain highspy model.

Run: ``python -m benchmarks.bench_overhead [--homes 6] [--plans 6] [--steps 48 96]``. Each
small home (``benchmarks/small_homes.py``: PV with a battery, a battery, an EV, a heat pump;
the reference home's prices and forecasts) is planned ``--plans`` times with new data; every
plan runs four ways back to back, in rotating order, in one process:

* ``plain``: the plain highspy model (``benchmarks/plain_highspy.py``), built from numpy
  arrays and solved as one MIP, with the plan's HiGHS options;
* ``plain_lp``: the same model with its integrality dropped: what HiGHS alone takes for the
  home's LP, the floor of any exact model;
* ``fresh``: ``optimise(problem)``;
* ``kept``: ``optimise(problem, models=cache)``, re-planning through a kept model
  (``optimiser/model_cache.py``; a home's first plans build it and are left out).

The homes of one kind share a cache. Each home but the first (seed 0, the reference
hardware) has hardware of its own (:func:`own_hardware`: the battery's capacity, powers and
efficiencies, the car's, the heat pump's power; the building is the seed's), so its first
plan goes through the model a home of its mix built (:mod:`optimiser.model_shape`): the
``shared`` column, those first plans' ``kept`` times against the plain model's.

Every plan's objective is checked against the plain model's (to the gap). Prints medians of
wall and CPU time per way and kind, the ratios of ``fresh`` and ``kept`` to ``plain`` and to
``plain_lp`` (CPU: a loaded machine disturbs it less), the load average, and writes
``benchmarks/results/overhead.json``. The machine is shared: the ratios, measured side by
side, are the figures to compare between runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.plain_highspy import check_same_objective, solve_plain
from benchmarks.small_homes import SMALL_HOME_KINDS, small_replans
from optimiser import Problem, SolverOptions, optimise, prepare_planner_process
from optimiser.model_cache import ModelCache

RESULTS = Path(__file__).resolve().parent / "results"
WAYS = ("plain", "plain_lp", "fresh", "kept")


def _timed(run: Callable[[], Any]) -> tuple[Any, float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    out = run()
    return out, time.perf_counter() - t0, time.process_time() - c0


def _plan_once(
    way: str, problem: Problem, options: SolverOptions, cache: ModelCache
) -> dict[str, Any]:
    """One way's plan of ``problem``: its times and objective."""
    if way in ("plain", "plain_lp"):
        lp = way == "plain_lp"
        plain, wall, cpu = _timed(lambda: solve_plain(problem, options, relax=lp))
        return {"wall_s": wall, "cpu_s": cpu, "outcome": plain}
    models = cache if way == "kept" else None
    plan, wall, cpu = _timed(lambda: optimise(problem, options, models=models))
    r = plan.solver
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "build_s": r.build_s,
        "solve_s": r.solve_s,
        "extract_s": r.extract_s,
        "objective_gbp": r.objective_gbp,
        "plan": plan,
    }


def own_hardware(problem: Problem, seed: int) -> Problem:
    """``problem`` with the hardware of home ``seed`` (0: the reference home's as it is)."""
    if seed == 0:
        return problem
    rng = np.random.default_rng(50_000 + seed)
    kw: dict[str, Any] = {}
    if problem.batteries:
        power = float(rng.uniform(2.5, 6.0))
        kw["batteries"] = tuple(
            replace(
                b,
                capacity_kwh=float(rng.uniform(5.0, 15.0)),
                max_charge_kw=power,
                max_discharge_kw=power,
                charge_efficiency=float(rng.uniform(0.9, 0.97)),
                discharge_efficiency=float(rng.uniform(0.9, 0.97)),
            )
            for b in problem.batteries
        )
    if problem.evs:
        kw["evs"] = tuple(
            replace(
                ev,
                battery_capacity_kwh=float(rng.uniform(40.0, 80.0)),
                max_charge_kw=float(rng.choice([7.4, 11.0])),
                charge_efficiency=float(rng.uniform(0.88, 0.94)),
            )
            for ev in problem.evs
        )
    if problem.heat_pumps:
        power = float(rng.uniform(2.0, 5.0))
        kw["heat_pumps"] = tuple(replace(hp, max_power_kw=power) for hp in problem.heat_pumps)
    return replace(problem, **kw)


def run_kind(
    kind: str, n_steps: int, homes: int, plans: int, options: SolverOptions, cache: ModelCache
) -> list[dict[str, Any]]:
    """Every plan of ``homes`` homes of ``kind``, the four ways interleaved."""
    rows: list[dict[str, Any]] = []
    turn = 0
    for seed in range(homes):
        for i, drawn in enumerate(small_replans(kind, seed, plans, n_steps)):
            problem = own_hardware(drawn, seed)
            hits = cache.hits
            order = WAYS[turn % 4 :] + WAYS[: turn % 4]  # rotate which way runs first
            turn += 1
            got = {way: _plan_once(way, problem, options, cache) for way in order}
            plain = got["plain"].pop("outcome")
            got["plain_lp"].pop("outcome")
            diffs = [
                check_same_objective(plain, got[way].pop("plan"), options)
                for way in ("fresh", "kept")
            ]
            rows.append(
                {
                    "seed": seed,
                    "plan": i,
                    "hit": cache.hits > hits,
                    "binaries_plain": plain.n_integer,
                    "objective_diff_over_gap": max(diffs),
                }
                | {way: got[way] for way in WAYS}
            )
    return rows


def summarise(kind: str, n_steps: int, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians [ms] per way over the re-plans a kept model served (a home's later plans),
    and the ratios; ``shared``: the homes' first plans through a model another home built."""
    hits = [r for r in rows if r["hit"] and r["plan"] > 0]
    shared = [r for r in rows if r["hit"] and r["plan"] == 0]

    def med(way: str, part: str, among: list[dict[str, Any]] = hits) -> float:
        return 1000 * statistics.median(float(r[way][part]) for r in among)

    medians = {way: {p: med(way, p) for p in ("wall_s", "cpu_s")} for way in WAYS}
    for way in ("fresh", "kept"):
        medians[way] |= {p: med(way, p) for p in ("build_s", "solve_s", "extract_s")}
    ratios = {
        f"{way}_over_{base}_{part}": medians[way][part] / medians[base][part]
        for way in ("fresh", "kept")
        for base in ("plain", "plain_lp")
        for part in ("cpu_s", "wall_s")
    }
    if shared:
        medians["shared"] = {p: med("kept", p, shared) for p in ("wall_s", "cpu_s")}
        for part in ("cpu_s", "wall_s"):
            plain = med("plain", part, shared)
            ratios[f"shared_over_plain_{part}"] = medians["shared"][part] / plain
    return {
        "kind": kind,
        "n_steps": n_steps,
        "plans_compared": len(hits),
        "shared_plans": len(shared),
        "median_ms": medians,
        "ratios": ratios,
        "max_objective_diff_over_gap": max(r["objective_diff_over_gap"] for r in rows),
        "rows": rows,
    }


def _print(case: dict[str, Any]) -> None:
    m, q = case["median_ms"], case["ratios"]
    cpu = "  ".join(f"{way} {m[way]['cpu_s']:5.1f}" for way in WAYS)
    print(
        f"T={case['n_steps']:<3} {case['kind']:<11} CPU ms: {cpu} | fresh/plain "
        f"{q['fresh_over_plain_cpu_s']:.2f} kept/plain {q['kept_over_plain_cpu_s']:.2f} "
        f"fresh/lp {q['fresh_over_plain_lp_cpu_s']:.2f} kept/lp {q['kept_over_plain_lp_cpu_s']:.2f}"
        f" (wall: {q['fresh_over_plain_wall_s']:.2f} {q['kept_over_plain_wall_s']:.2f}; "
        f"{case['plans_compared']} plans)"
    )
    if "shared_over_plain_cpu_s" in q:
        print(
            f"      shared (a home's first plan, another home's model): CPU "
            f"{m['shared']['cpu_s']:.1f} ms, /plain {q['shared_over_plain_cpu_s']:.2f} "
            f"(wall {q['shared_over_plain_wall_s']:.2f}; {case['shared_plans']} plans)"
        )
    for way in ("fresh", "kept"):
        w = m[way]
        print(
            f"      {way:<5} build {w['build_s']:.1f} solve {w['solve_s']:.1f} "
            f"extract {w['extract_s']:.1f} ms"
        )


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--homes", type=int, default=6)
    parser.add_argument("--plans", type=int, default=6, help="plans per home (the first build)")
    parser.add_argument("--steps", type=int, nargs="+", default=[48, 96])
    parser.add_argument("--out", type=Path, default=RESULTS / "overhead.json")
    args = parser.parse_args()
    options = SolverOptions(threads=1)
    warm = small_replans("pv_battery", 10_000, 1, 48)[0]
    optimise(warm, options)  # imports, plugins
    solve_plain(warm, options)
    prepare_planner_process()
    load_start = os.getloadavg()
    cases = []
    for n_steps in args.steps:
        cache = ModelCache(max_models=4 * args.homes, keep_after=1)
        for kind in SMALL_HOME_KINDS:
            rows = run_kind(kind, n_steps, args.homes, args.plans, options, cache)
            cases.append(summarise(kind, n_steps, rows))
            _print(cases[-1])
    load_end = os.getloadavg()
    print(
        f"commit {_commit()}; load average at start {load_start[0]:.2f}, at end {load_end[0]:.2f}"
    )
    results = {
        "commit": _commit(),
        "settings": asdict(replace(options)),
        "load_average": [load_start, load_end],
        "cases": cases,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
