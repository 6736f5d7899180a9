"""The reference home with an on/off heat pump: the planner's default options against an
exact solve (issue 27, rough edge 1). Not in ``make bench``: a measurement script.

    python -m benchmarks.onoff_heat_pump --seeds 0 1 2 3            # default options
    python -m benchmarks.onoff_heat_pump --seeds 0 --exact-s 120    # a 1e-6-gap solve

Prints one line per seed: wall time, the plan's status, rounds, objective and HiGHS's gap.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace

from benchmarks.reference_home import reference_home
from optimiser import Problem
from optimiser.highs_backend import SolverOptions
from optimiser.planner import optimise


def on_off_home(seed: int) -> Problem:
    """The reference home of ``seed`` with its heat pump set to on/off (non-modulating)."""
    problem = reference_home(seed)
    pumps = tuple(replace(hp, modulating=False) for hp in problem.heat_pumps)
    return replace(problem, heat_pumps=pumps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--time-limit-s", type=float, default=10.0)
    parser.add_argument("--exact-s", type=float, default=0.0, help="a 1e-6-gap solve this long")
    args = parser.parse_args()
    options = SolverOptions(time_limit_s=args.time_limit_s)
    if args.exact_s:
        options = SolverOptions(time_limit_s=args.exact_s, mip_rel_gap=1e-6, mip_abs_gap=1e-9)
    for seed in args.seeds:
        problem = on_off_home(seed)
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        plan = optimise(problem, options)
        wall_s = time.perf_counter() - t0
        r = plan.solver
        print(
            f"seed {seed}: wall {wall_s:6.2f} s (budget {options.time_limit_s:g} s) "
            f"{r.status.value} rounds {r.rounds} objective {r.objective_gbp:.6f} "
            f"bound {r.bound_gbp:.6f} gap {r.gap:.4%} load {load:.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
