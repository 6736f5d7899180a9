"""Instructions a re-plan costs through a persistent model and fresh, counted by callgrind.

Run: ``python -m benchmarks.replan_instructions [--homes 8] [--plans 4]`` (needs valgrind).
CPU times on the shared machine vary with its load; instruction counts much less, so they
help compare code changes where ``benchmarks/bench_replan.py``'s interleaved ratio is noisy.
They are not exact: two runs of one commit differed by up to 4 % (HiGHS's MIP computes its
analytic centre in a task on a thread), and the hash seed moved the fresh plans' count by
12 % (the child runs with ``PYTHONHASHSEED=0``); compare runs of this command only.
The reference homes (``benchmarks/replan_homes.py``) are planned once both ways (imports,
the kept models built), then their re-plans through one ``ModelCache`` and then fresh, each
phase alone counted: this process starts a child under ``valgrind --tool=callgrind
--instr-atstart=no`` and switches its instrumentation on and off around each phase with
``callgrind_control``. Prints the instructions a plan each way and their ratio.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PHASES = ("kept", "fresh")


def _child(homes: int, plans: int, flags: Path) -> None:
    """Plan the homes, waiting at each phase for the parent to switch counting on."""
    from benchmarks.replan_homes import replans
    from optimiser import SolverOptions, optimise, prepare_planner_process
    from optimiser.model_cache import ModelCache

    options = SolverOptions(threads=1)
    sequences = [replans(seed, plans, 96, reference=True) for seed in range(homes)]
    cache = ModelCache(max_models=max(homes, 1), keep_after=1)
    for sequence in sequences:
        optimise(sequence[0], options, models=cache)
        optimise(sequence[0], options)
    prepare_planner_process()
    for phase in PHASES:
        (flags / f"{phase}.ready").touch()
        _wait_for(flags / f"{phase}.go")
        for sequence in sequences:
            for problem in sequence[1:]:
                optimise(problem, options, models=cache if phase == "kept" else None)
        (flags / f"{phase}.done").touch()
        _wait_for(flags / f"{phase}.counted")


def _wait_for(path: Path) -> None:
    while not path.exists():
        time.sleep(0.05)


def _instructions(dump: Path) -> int:
    """A callgrind dump's self costs summed (the line after a ``calls=`` line is the call's
    inclusive cost, counted already in the callee)."""
    total, after_call = 0, False
    for line in dump.read_text().splitlines():
        if line.startswith("calls="):
            after_call = True
        elif line[:1].isdigit() or line[:1] in "+-*":
            position_and_cost = line.split()
            if not after_call and len(position_and_cost) > 1:
                total += int(position_and_cost[1])
            after_call = False
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--homes", type=int, default=8)
    parser.add_argument("--plans", type=int, default=4, help="plans per home (the first builds)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        _child(args.homes, args.plans, args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        flags = Path(tmp)
        out = flags / "callgrind.out"
        valgrind = ["valgrind", "--tool=callgrind", "--instr-atstart=no"]
        planner = [sys.executable, "-m", "benchmarks.replan_instructions", "--child", str(flags)]
        sizes = ["--homes", str(args.homes), "--plans", str(args.plans)]
        child = subprocess.Popen(
            [*valgrind, f"--callgrind-out-file={out}", *planner, *sizes],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=os.environ | {"PYTHONHASHSEED": "0"},  # the same set orders every run
        )
        pid = str(child.pid)
        for phase in PHASES:
            _wait_for(flags / f"{phase}.ready")
            _control("-z", pid)
            _control("-i", "on", pid)
            (flags / f"{phase}.go").touch()
            _wait_for(flags / f"{phase}.done")
            _control("-i", "off", pid)
            _control("-d", phase, pid)
            (flags / f"{phase}.counted").touch()
        child.wait()
        dumps = sorted(flags.glob("callgrind.out.*"), key=lambda p: int(p.suffix[1:]))
        counts = dict(zip(PHASES, (_instructions(d) for d in dumps), strict=True))
    replans = args.homes * (args.plans - 1)
    per_plan = {phase: counts[phase] / replans / 1e6 for phase in PHASES}
    print(
        f"{args.homes} reference homes x {args.plans - 1} re-plans, T=96: "
        f"kept {per_plan['kept']:.1f} M instructions a plan, fresh {per_plan['fresh']:.1f} M, "
        f"kept/fresh {per_plan['kept'] / per_plan['fresh']:.3f}"
    )


def _control(*args: str) -> None:
    subprocess.run(["callgrind_control", *args], check=True, capture_output=True)


if __name__ == "__main__":
    main()
