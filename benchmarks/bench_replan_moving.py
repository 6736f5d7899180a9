"""Re-plans on a moving grid: the fleet cohort's homes planned at consecutive slots, kept and fresh.

Run: ``python -m benchmarks.bench_replan_moving [--homes 40] [--slots 4] [--seed 0]``.
``bench_replan`` re-plans each home on the same grid start; the service's grid starts at the
current slot at every re-plan, so the sessions of an EV (slot indices relative to the grid)
move by one slot each time. This draws ``bench_fleet``'s cohort, gives each home its
simulated devices and, at each of ``--slots`` consecutive slots, builds its problem as the
service's controller does (:func:`benchmarks.fleet_plan_outcomes.home_problem`: a 48 h
horizon, the dispatch's safeguards incl. the EV dispatch lag, the load's spread) and plans it
both ways, back to back in alternating order: ``optimise(problem)`` (fresh) and through one
:class:`~optimiser.model_cache.ModelCache` (the service's defaults: a shape is kept from its
second plan) with the home's mode memory, as a planner worker does. Prints, per slot, the
kept path's outcomes (hit, miss, not kept, uncovered) for homes with and without an EV, then
the CPU medians of the hits both ways, their ratio and the largest objective difference
against the solver's gap, with the load average; writes
``benchmarks/results/replan_moving.json``. The machine is shared: compare the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.fleet_plan_outcomes import home_problem
from hems.market import ReplayedMarket
from hems.settings import Settings
from hems.simulation.cohort import CohortHome, draw_cohort
from hems.simulation.home import SimulatedHome, simulate_home
from optimiser import ModeMemory, Problem, SolverOptions, optimise
from optimiser.context import ModelExtension
from optimiser.model_cache import ModelCache

RESULTS = Path(__file__).resolve().parent / "results"
START = datetime.fromisoformat("2026-12-06T22:30:00+00:00")
OUTCOMES = ("hit", "miss", "not_kept", "uncovered")


def _outcome(cache: ModelCache, before: tuple[int, int, int, int]) -> str:
    now = (cache.hits, cache.misses, cache.not_kept, cache.uncovered)
    return next(name for name, a, b in zip(OUTCOMES, before, now, strict=True) if b > a)


def _plan_both(
    problem: Problem,
    extensions: list[ModelExtension],
    options: SolverOptions,
    memory: ModeMemory,
    cache: ModelCache,
    kept_first: bool,
) -> dict[str, Any]:
    """One home's plan both ways: CPU seconds, objectives and the kept path's outcome."""
    before = (cache.hits, cache.misses, cache.not_kept, cache.uncovered)
    out: dict[str, Any] = {}
    for how in ("kept", "fresh") if kept_first else ("fresh", "kept"):
        kept = how == "kept"
        c0 = time.process_time()
        plan = optimise(
            problem, options, extensions, memory if kept else None, models=cache if kept else None
        )
        out[how] = {
            "cpu_s": time.process_time() - c0,
            "objective_gbp": plan.solver.objective_gbp,
            "status": plan.solver.status.value,
        }
    out["outcome"] = _outcome(cache, before)
    fresh_obj = out["fresh"]["objective_gbp"]
    gap = max(options.mip_abs_gap, options.mip_rel_gap * abs(fresh_obj))
    out["objective_diff_over_gap"] = abs(out["kept"]["objective_gbp"] - fresh_obj) / gap
    return out


def cohort_homes(
    homes: int, seed: int
) -> tuple[Settings, SolverOptions, ReplayedMarket, list[CohortHome], list[SimulatedHome]]:
    """The service's settings and plan options, the replayed market, ``bench_fleet``'s cohort
    of ``homes`` and each home's simulated devices from :data:`START` (three days)."""
    settings = Settings()
    options = SolverOptions(time_limit_s=settings.solver_time_limit_s, threads=1)
    market = ReplayedMarket()
    cohort = draw_cohort(homes, seed)
    sims = [
        simulate_home(
            h.spec, START, days=3, seed=h.seed, market=market, ev_stays=h.ev_stays(START, 3)
        )
        for h in cohort
    ]
    return settings, options, market, cohort, sims


def run(homes: int, slots: int, seed: int) -> dict[str, Any]:
    """Plan the cohort at ``slots`` consecutive slots both ways; the rows and their summary."""
    settings, options, market, cohort, sims = cohort_homes(homes, seed)
    cache = ModelCache(max_models=max(2 * homes, 1))
    memories = [ModeMemory() for _ in cohort]
    rows: list[dict[str, Any]] = []
    for slot in range(slots):
        now = START + timedelta(minutes=30 * slot)
        counts: Counter[str] = Counter()
        for i, (home, sim) in enumerate(zip(cohort, sims, strict=True)):
            sim.advance(now)
            problem, extensions = home_problem(home, sim, market, settings)
            row = _plan_both(problem, extensions, options, memories[i], cache, (i + slot) % 2 == 1)
            row |= {"slot": slot, "home": i, "ev": bool(problem.evs)}
            counts[f"{'ev' if row['ev'] else 'no ev'}: {row['outcome']}"] += 1
            rows.append(row)
        print(f"slot {slot} ({now:%H:%M} UTC): {dict(sorted(counts.items()))}", flush=True)
    return {"homes": homes, "slots": slots, "seed": seed} | _summary(rows)


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for label, ev in (("ev", True), ("no_ev", False)):
        group = [r for r in rows if r["ev"] is ev]
        hits = [r for r in group if r["outcome"] == "hit"]
        part: dict[str, Any] = {
            "plans": len(group),
            "outcomes": dict(Counter(r["outcome"] for r in group)),
        }
        if hits:
            kept = 1000 * statistics.median(r["kept"]["cpu_s"] for r in hits)
            fresh = 1000 * statistics.median(r["fresh"]["cpu_s"] for r in hits)
            part |= {"hit_cpu_median_ms": {"kept": kept, "fresh": fresh}, "ratio": kept / fresh}
        if group:
            part["fresh_cpu_median_ms"] = 1000 * statistics.median(
                r["fresh"]["cpu_s"] for r in group
            )
        out[label] = part
    out["all_same_status"] = all(r["kept"]["status"] == r["fresh"]["status"] for r in rows)
    out["max_objective_diff_over_gap"] = max(r["objective_diff_over_gap"] for r in rows)
    out["rows"] = rows
    return out


def _print(result: dict[str, Any]) -> None:
    for label in ("ev", "no_ev"):
        part = result[label]
        line = f"{label}: {part['plans']} plans, {part['outcomes']}"
        if "ratio" in part:
            m = part["hit_cpu_median_ms"]
            line += (
                f"; hits' CPU median kept {m['kept']:.1f} ms, fresh {m['fresh']:.1f} ms "
                f"(kept/fresh {part['ratio']:.2f})"
            )
        if "fresh_cpu_median_ms" in part:
            line += f"; every plan's fresh CPU median {part['fresh_cpu_median_ms']:.1f} ms"
        print(line)
    print_agreement(result)


def print_agreement(result: dict[str, Any]) -> None:
    """The line both cohort benchmarks end with: the kept path's plans against fresh ones."""
    print(
        f"all same status: {result['all_same_status']}; largest objective difference "
        f"{result['max_objective_diff_over_gap']:.2f} x the gap"
    )


def cohort_main(
    argv: list[str] | None,
    *,
    run: Callable[[int, int, int], dict[str, Any]],
    show: Callable[[dict[str, Any]], None],
    default_slots: int,
    out_name: str,
    doc: str,
) -> dict[str, Any]:
    """The command line of a benchmark over the fleet cohort's homes at consecutive slots
    (this one and ``bench_shared_shapes``): parse, ``run(homes, slots, seed)``, print with
    ``show`` and the load average, write ``results/out_name``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--homes", type=int, default=40)
    parser.add_argument("--slots", type=int, default=default_slots, help="consecutive slots (>= 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--results", type=Path, default=RESULTS, help="directory for the JSON")
    args = parser.parse_args(argv)
    if args.homes < 1 or args.slots < 1 or args.seed < 0:
        parser.error("--homes and --slots >= 1 and --seed >= 0, please")
    load_start = os.getloadavg()
    result = run(args.homes, args.slots, args.seed)
    result["load_average"] = [load_start, os.getloadavg()]
    show(result)
    print(f"load average at start {load_start[0]:.2f}, at end {os.getloadavg()[0]:.2f}")
    args.results.mkdir(parents=True, exist_ok=True)
    out = args.results / out_name
    out.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    print(f"wrote {out}")
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    return cohort_main(
        argv, run=run, show=_print, default_slots=4, out_name="replan_moving.json", doc=__doc__
    )


if __name__ == "__main__":
    main()
