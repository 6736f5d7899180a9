"""Re-plans through a persistent model against fresh builds of the same homes, interleaved.

Run: ``python -m benchmarks.bench_replan [--homes 20] [--plans 6] [--steps 96]``. Each random
home (``benchmarks/replan_homes.py``: the reference home's assets in a seeded subset, new
prices, forecasts, states and wishes at each re-plan) is planned ``--plans`` times; every plan
runs both ways back to back, in alternating order, in one process: ``optimise(problem)`` (a
fresh Pyomo build and translation) and ``optimise(problem, models=cache)`` with one
:class:`~optimiser.model_cache.ModelCache` for all homes, as a planner worker holds. A home's
first plan through the cache builds its model (a miss, reported apart); the figures compared
are the re-plans after it. Prints medians of wall and CPU time per plan for both, their ratio,
the largest objective difference against the solver's gap and the load average, and writes
``benchmarks/results/replan.json``. The machine is shared: the ratio, measured side by side,
is the figure to compare between runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmarks.replan_homes import replans
from optimiser import Plan, SolverOptions, optimise, prepare_planner_process
from optimiser.model_cache import ModelCache

RESULTS = Path(__file__).resolve().parent / "results"


def _timed(problem: Any, options: SolverOptions, cache: ModelCache | None) -> dict[str, Any]:
    t0, c0 = time.perf_counter(), time.process_time()
    plan: Plan = optimise(problem, options, models=cache)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    r = plan.solver
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "build_s": r.build_s,
        "solve_s": r.solve_s,
        "extract_s": r.extract_s,
        "status": r.status.value,
        "objective_gbp": r.objective_gbp,
        "rounds": r.rounds,
    }


def run(
    homes: int, plans: int, n_steps: int, options: SolverOptions, *, reference: bool
) -> dict[str, Any]:
    """One case: ``homes`` homes (the reference homes, or random ones) re-planned ``plans``
    times each, both ways."""
    cache = ModelCache(max_models=max(homes, 1), keep_after=1)
    rows = []
    for seed in range(homes):
        for i, problem in enumerate(replans(seed, plans, n_steps, reference=reference)):
            hits = cache.hits
            if (seed + i) % 2:  # alternate which way runs first
                kept = _timed(problem, options, cache)
                fresh = _timed(problem, options, None)
            else:
                fresh = _timed(problem, options, None)
                kept = _timed(problem, options, cache)
            gap = max(options.mip_abs_gap, options.mip_rel_gap * abs(fresh["objective_gbp"]))
            diff = abs(kept["objective_gbp"] - fresh["objective_gbp"])
            rows.append(
                {
                    "seed": seed,
                    "plan": i,
                    "hit": cache.hits > hits,
                    "fresh": fresh,
                    "kept": kept,
                    "same_status": fresh["status"] == kept["status"],
                    "objective_diff_over_gap": diff / gap,
                }
            )
    return {"homes_kind": "reference" if reference else "random"} | _summary(
        rows, homes, plans, n_steps, cache
    )


def _median_ms(rows: list[dict[str, Any]], way: str, part: str) -> float:
    return 1000 * statistics.median(float(r[way][part]) for r in rows)


def _summary(
    rows: list[dict[str, Any]], homes: int, plans: int, n_steps: int, cache: ModelCache
) -> dict[str, Any]:
    hits = [r for r in rows if r["hit"]]
    misses = [r for r in rows if not r["hit"]]
    parts = ("wall_s", "cpu_s", "build_s", "solve_s", "extract_s")
    medians = {
        way: {part: _median_ms(hits, way, part) for part in parts} for way in ("fresh", "kept")
    }
    return {
        "n_steps": n_steps,
        "homes": homes,
        "plans_per_home": plans,
        "replans_compared": len(hits),
        "median_ms": medians,
        "cpu_ratio_kept_over_fresh": medians["kept"]["cpu_s"] / medians["fresh"]["cpu_s"],
        "wall_ratio_kept_over_fresh": medians["kept"]["wall_s"] / medians["fresh"]["wall_s"],
        "miss_median_ms": {
            "kept_wall": _median_ms(misses, "kept", "wall_s") if misses else None,
            "fresh_wall": _median_ms(misses, "fresh", "wall_s") if misses else None,
        },
        "all_same_status": all(r["same_status"] for r in rows),
        "max_objective_diff_over_gap": max(r["objective_diff_over_gap"] for r in rows),
        "cache": {"hits": cache.hits, "misses": cache.misses, "uncovered": cache.uncovered},
        "rows": rows,
    }


def _print(case: dict[str, Any]) -> None:
    m = case["median_ms"]
    print(
        f"T={case['n_steps']}, {case['homes']} {case['homes_kind']} homes x "
        f"{case['plans_per_home']} plans, interleaved"
    )
    print(f"{'way':<8}{'wall ms':>9}{'cpu ms':>9}{'build':>8}{'solve':>8}{'extract':>9}")
    for way in ("fresh", "kept"):
        w = m[way]
        print(
            f"{way:<8}{w['wall_s']:>9.1f}{w['cpu_s']:>9.1f}{w['build_s']:>8.1f}"
            f"{w['solve_s']:>8.1f}{w['extract_s']:>9.1f}"
        )
    miss = case["miss_median_ms"]
    print(
        f"kept/fresh: CPU {case['cpu_ratio_kept_over_fresh']:.2f}, wall "
        f"{case['wall_ratio_kept_over_fresh']:.2f} over {case['replans_compared']} re-plans; "
        f"a miss (first plan of a shape) {miss['kept_wall']:.1f} ms against "
        f"{miss['fresh_wall']:.1f} fresh; all same status: {case['all_same_status']}; "
        f"largest objective difference {case['max_objective_diff_over_gap']:.2f} x the gap"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--homes", type=int, default=20)
    parser.add_argument("--plans", type=int, default=6, help="plans per home (the first builds)")
    parser.add_argument("--steps", type=int, default=96, help="slots of 30 minutes")
    args = parser.parse_args()
    options = SolverOptions(threads=1)
    optimise(replans(10_000, 1, args.steps)[0], options)  # warm-up (imports, plugins)
    prepare_planner_process()
    load_start = os.getloadavg()
    cases = [
        run(args.homes, args.plans, args.steps, options, reference=True),
        run(args.homes, args.plans, args.steps, options, reference=False),
    ]
    load_end = os.getloadavg()
    results = {"settings": asdict(options), "load_average": [load_start, load_end], "cases": cases}
    for case in cases:
        _print(case)
    print(f"load average at start {load_start[0]:.2f}, at end {load_end[0]:.2f}")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "replan.json"
    out.write_text(json.dumps(results, indent=2, default=str))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
