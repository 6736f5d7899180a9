"""Homes sharing kept models: the fleet cohort's shapes, and each home's first plan through one.

Run: ``python -m benchmarks.bench_shared_shapes [--homes 40] [--slots 3] [--seed 0]``. A
model is kept per *shape* (:mod:`optimiser.model_shape`): when the shape holds a home's
hardware, every home is its own shape, pays the fresh build at its first plan in a worker
and, beyond the cache's 32 shapes, at every plan. This draws ``bench_fleet``'s cohort, builds
each home's problem at ``--slots`` consecutive slots as the service's controller does
(:func:`benchmarks.fleet_plan_outcomes.home_problem`) and plans it both ways, back to back in
alternating order, through one :class:`~optimiser.model_cache.ModelCache` of the service's
size (``DEFAULT_MAX_MODELS``, a shape kept from its second plan) with the home's mode memory,
and fresh. Prints the distinct shapes (and homes whose shape is not covered), the kept
path's outcomes on each home's FIRST plan (a hit: a model another home of its mix built) and
over all plans, and the CPU of the first plans' hits and of all plans both ways, with the
load average; writes ``benchmarks/results/shared_shapes.json``. The machine is shared:
compare the ratios.
"""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchmarks.bench_replan_moving import (
    START,
    _plan_both,
    cohort_homes,
    cohort_main,
    print_agreement,
)
from benchmarks.fleet_plan_outcomes import home_problem
from optimiser import ModeMemory
from optimiser.model_cache import DEFAULT_MAX_MODELS, ModelCache
from optimiser.model_shape import shape_key

RESULTS = Path(__file__).resolve().parent / "results"


def run(homes: int, slots: int, seed: int) -> dict[str, Any]:
    """Plan the cohort at ``slots`` consecutive slots both ways; the rows and their summary."""
    settings, options, market, cohort, sims = cohort_homes(homes, seed)
    cache = ModelCache(DEFAULT_MAX_MODELS)
    memories = [ModeMemory() for _ in cohort]
    shapes: Counter[str] = Counter()
    rows: list[dict[str, Any]] = []
    for slot in range(slots):
        now = START + timedelta(minutes=30 * slot)
        for i, (home, sim) in enumerate(zip(cohort, sims, strict=True)):
            sim.advance(now)
            problem, extensions = home_problem(home, sim, market, settings)
            shapes[repr(shape_key(problem, extensions))] += 1
            row = _plan_both(problem, extensions, options, memories[i], cache, (i + slot) % 2 == 1)
            rows.append(row | {"slot": slot, "home": i})
        print(f"slot {slot} ({now:%H:%M} UTC) planned", flush=True)
    return {"homes": homes, "slots": slots, "seed": seed} | _summary(rows, shapes)


def _cpu(rows: list[dict[str, Any]]) -> dict[str, Any]:
    if not rows:
        return {"plans": 0}
    kept = [r["kept"]["cpu_s"] for r in rows]
    fresh = [r["fresh"]["cpu_s"] for r in rows]
    return {
        "plans": len(rows),
        "kept_median_ms": 1000 * statistics.median(kept),
        "fresh_median_ms": 1000 * statistics.median(fresh),
        "kept_over_fresh_total": sum(kept) / sum(fresh),
    }


def _summary(rows: list[dict[str, Any]], shapes: Counter[str]) -> dict[str, Any]:
    first = [r for r in rows if r["slot"] == 0]
    return {
        "distinct_shapes": len([s for s in shapes if s != "None"]),
        "problems_uncovered": shapes.get("None", 0),
        "first_plan_outcomes": dict(Counter(r["outcome"] for r in first)),
        "all_outcomes": dict(Counter(r["outcome"] for r in rows)),
        "first_plan_hits_cpu": _cpu([r for r in first if r["outcome"] == "hit"]),
        "first_plans_cpu": _cpu(first),
        "all_plans_cpu": _cpu(rows),
        "all_same_status": all(r["kept"]["status"] == r["fresh"]["status"] for r in rows),
        "max_objective_diff_over_gap": max(r["objective_diff_over_gap"] for r in rows),
        "rows": rows,
    }


def _print(result: dict[str, Any]) -> None:
    print(
        f"{result['homes']} homes x {result['slots']} slots: {result['distinct_shapes']} distinct "
        f"shapes, {result['problems_uncovered']} problems not covered"
    )
    print(f"first plans: {result['first_plan_outcomes']}; all plans: {result['all_outcomes']}")
    for label in ("first_plan_hits_cpu", "first_plans_cpu", "all_plans_cpu"):
        c = result[label]
        if c["plans"]:
            print(
                f"{label}: {c['plans']} plans, CPU median kept {c['kept_median_ms']:.1f} ms, "
                f"fresh {c['fresh_median_ms']:.1f} ms, kept/fresh (sums) "
                f"{c['kept_over_fresh_total']:.2f}"
            )
    print_agreement(result)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    return cohort_main(
        argv, run=run, show=_print, default_slots=3, out_name="shared_shapes.json", doc=__doc__
    )


if __name__ == "__main__":
    main()
