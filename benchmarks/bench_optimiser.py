"""Speed and quality of the optimiser on the reference home (one core, HiGHS threads=1).

Run: ``make bench`` or ``python -m benchmarks.bench_optimiser [--homes N]``. Prints median / min /
max of build, solve, extract and total time at T = 96 (48 h x 30 min) and T = 384 (96 h x 15 min),
homes planned per second per core (wall clock, and per CPU-second of this process, which a
loaded machine disturbs less), and the optimality gap against an exact solve of the same
problem (every binary in place, mip_rel_gap = mip_abs_gap = 0). Writes
``benchmarks/results/optimiser.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import highspy
import pyomo

from benchmarks.reference_home import reference_home
from optimiser import SolverOptions, optimise, prepare_planner_process
from optimiser.context import BinarySlots
from optimiser.highs_backend import solve_with_highs
from optimiser.model import build_model
from optimiser.planner import all_candidate_slots, initial_binary_slots

RESULTS = Path(__file__).resolve().parent / "results"


def exact_objective(seed: int, n_steps: int, step_minutes: int) -> float:
    """The same home with every candidate binary in place, solved to a zero gap."""
    problem = reference_home(seed, n_steps, step_minutes)
    slots: BinarySlots = initial_binary_slots(problem)
    keys = ["grid", *(b.binary_key for b in problem.batteries)]
    keys += [k for ev in problem.evs for k in (ev.binary_key, ev.min_power_key)]
    for key in keys:
        slots = slots.with_added(key, all_candidate_slots(problem, key))
    built = build_model(problem, slots)
    outcome = solve_with_highs(
        built.model, SolverOptions(mip_rel_gap=0.0, mip_abs_gap=0.0, time_limit_s=120), 120
    )
    return outcome.objective


def stats(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def run(n_steps: int, step_minutes: int, homes: int, options: SolverOptions) -> dict[str, Any]:
    """One case's figures, as written to the JSON results."""
    optimise(reference_home(10_000, n_steps, step_minutes), options)  # warm-up (imports, plugins)
    prepare_planner_process()  # as the service's and backtests' planner processes do
    rows = []
    for seed in range(homes):
        problem = reference_home(seed, n_steps, step_minutes)  # each home from its own inputs
        t0, c0 = time.perf_counter(), time.process_time()
        plan = optimise(problem, options)
        total, cpu = time.perf_counter() - t0, time.process_time() - c0
        exact = exact_objective(seed, n_steps, step_minutes)
        r = plan.solver
        rows.append(
            {
                "seed": seed,
                "status": r.status.value,
                "build_s": r.build_s,
                "solve_s": r.solve_s,
                "extract_s": r.extract_s,
                "total_s": total,
                "cpu_s": cpu,
                "rounds": r.rounds,
                "binaries": r.n_binaries,
                "objective_gbp": r.objective_gbp,
                "exact_objective_gbp": exact,
                "gap_vs_exact": abs(r.objective_gbp - exact) / max(abs(exact), 1e-9),
            }
        )
    totals = [float(r["total_s"]) for r in rows]
    return {
        "n_steps": n_steps,
        "step_minutes": step_minutes,
        "homes": homes,
        "build_s": stats([float(r["build_s"]) for r in rows]),
        "solve_s": stats([float(r["solve_s"]) for r in rows]),
        "extract_s": stats([float(r["extract_s"]) for r in rows]),
        "total_s": stats(totals),
        "cpu_s": stats([float(r["cpu_s"]) for r in rows]),
        "homes_per_s_per_core": homes / sum(totals),
        "homes_per_cpu_s": homes / sum(float(r["cpu_s"]) for r in rows),
        "gap_vs_exact": stats([float(r["gap_vs_exact"]) for r in rows]),
        "rounds": stats([float(r["rounds"]) for r in rows]),
        "all_optimal": all(r["status"] == "optimal" for r in rows),
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--homes", type=int, default=20)
    args = parser.parse_args()
    options = SolverOptions(threads=1)
    cases = [run(96, 30, args.homes, options), run(384, 15, max(5, args.homes // 2), options)]
    results = {
        "machine": {"python": platform.python_version(), "processor": platform.processor()},
        "versions": {
            "highspy": highspy.__version__ if hasattr(highspy, "__version__") else "?",
            "pyomo": pyomo.version.version,
        },
        "settings": asdict(options),
        "cases": cases,
    }
    print(f"{'case':<12}{'part':<10}{'median ms':>11}{'min ms':>9}{'max ms':>9}")
    for case in cases:
        label = f"T={case['n_steps']}"
        for part in ("build_s", "solve_s", "extract_s", "total_s", "cpu_s"):
            s = case[part]
            ms = [1000 * s[k] for k in ("median", "min", "max")]
            print(f"{label:<12}{part[:-2]:<10}{ms[0]:>11.1f}{ms[1]:>9.1f}{ms[2]:>9.1f}")
        g = case["gap_vs_exact"]
        print(
            f"{label:<12}homes/s/core {case['homes_per_s_per_core']:.2f} (wall), "
            f"{case['homes_per_cpu_s']:.2f} per CPU-second; gap vs exact median "
            f"{100 * g['median']:.4f} %, max {100 * g['max']:.4f} %; rounds median "
            f"{case['rounds']['median']:.0f}; all optimal: {case['all_optimal']}"
        )
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "optimiser.json"
    out.write_text(json.dumps(results, indent=2, default=str))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
