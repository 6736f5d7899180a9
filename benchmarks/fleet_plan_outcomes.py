"""The fleet cohort's plans by outcome, without the service: fresh and through kept models.

Run: ``python -m benchmarks.fleet_plan_outcomes [--homes 1000] [--slots 2] [--seed 0]
[--start 2026-12-06T22:30:00+00:00] [--workers 2]``. Draws ``bench_fleet``'s cohort
(:mod:`hems.simulation.cohort`, the seed), gives each home its simulated devices from
``--start`` (the fleet run's first slot) and, at each of ``--slots`` slots, builds its problem as
the service's controller does (the devices' states as read, the replayed market, the service's
default settings: a 48 h horizon, the dispatch's safeguards, the load's spread) and plans it
twice: ``optimise(problem)`` (a fresh model) and through a :class:`ModelCache` with the home's
mode memory, home ``i`` on cache ``i % --workers`` as the planner workers hold them
(``hems/plan_job.py``). Prints each slot's plans by outcome (optimal, at the time limit with a
solution, the rule-based fallback) both ways and every plan that is not optimal, with the
solver's message; writes ``benchmarks/results/fleet_plan_outcomes.json``. Issue 29: the fleet
run's "no solution (Unknown)" fallbacks came only through the kept models (docs/optimiser.md,
"Persistent models"). Problems use the default dataset, not the lead's service's measured
load, so a home's numbers are close to, not equal to, the fleet run's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hems.market import ReplayedMarket
from hems.problem_builder import PlanInputs, build_problem
from hems.settings import Settings
from hems.simulation.cohort import CohortHome, draw_cohort
from hems.simulation.home import SimulatedHome, simulate_home
from hems.slot_setpoints import Safeguards
from kernel.devices import DeviceState
from optimiser import ModeMemory, PlanStatus, Problem, SolverOptions, TimeGrid, optimise
from optimiser.context import ModelExtension
from optimiser.model_cache import ModelCache

RESULTS = Path(__file__).resolve().parent / "results"
HOWS = ("fresh", "kept")


def home_problem(
    home: CohortHome, sim: SimulatedHome, market: ReplayedMarket, settings: Settings
) -> tuple[Problem, list[ModelExtension]]:
    """The home's problem at the simulation's time, as the service's controller builds it."""
    now = sim.now_utc
    states: dict[str, DeviceState] = {
        name: asyncio.run(driver.read_state()) for name, driver in sim.drivers.items()
    }
    grid = TimeGrid.starting_at(now, step_minutes=30, horizon_hours=settings.horizon_hours)
    problem, extensions = build_problem(
        PlanInputs(
            home=home.spec,
            preferences=home.preferences,
            states=states,
            market=market.series(grid, home.spec),
            grid=grid,
            now_utc=now,
            safeguards=Safeguards.of(settings),
            load_spread_cover=settings.planner_load_spread_cover,
        )
    )
    return problem, list(extensions)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Plan every home at every slot both ways; the counts and the plans not optimal."""
    settings = Settings()  # its defaults; nothing is stored
    options = SolverOptions(time_limit_s=settings.solver_time_limit_s)
    market = ReplayedMarket()
    cohort = draw_cohort(args.homes, args.seed)
    start = args.start
    sims = [
        simulate_home(
            h.spec, start, days=3, seed=h.seed, market=market, ev_stays=h.ev_stays(start, 3)
        )
        for h in cohort
    ]
    caches = [ModelCache() for _ in range(args.workers)]
    memories = [ModeMemory() for _ in cohort]
    by_slot: list[dict[str, dict[str, int]]] = []
    not_optimal: list[dict[str, Any]] = []
    for slot in range(args.slots):
        now = start + timedelta(minutes=30 * slot)
        counts = {how: {s.value: 0 for s in PlanStatus} for how in HOWS}
        t0 = time.perf_counter()
        for i, (home, sim) in enumerate(zip(cohort, sims, strict=True)):
            sim.advance(now)
            problem, extensions = home_problem(home, sim, market, settings)
            for how in HOWS:
                kept = how == "kept"
                plan = optimise(
                    problem,
                    options,
                    extensions,
                    memories[i] if kept else None,
                    models=caches[i % args.workers] if kept else None,
                )
                r = plan.solver
                counts[how][r.status.value] += 1
                if r.status is not PlanStatus.OPTIMAL:
                    row = {"slot": slot, "home": i, "how": how, "status": r.status.value}
                    not_optimal.append(row | {"message": r.message, "rounds": r.rounds})
                    print(f"  {row} {r.message}", flush=True)
        by_slot.append(counts)
        print(
            f"slot {slot + 1} ({now:%H:%M} UTC): fresh {counts['fresh']}, kept {counts['kept']}; "
            f"{time.perf_counter() - t0:.0f} s, load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    return {
        "homes": args.homes,
        "slots": args.slots,
        "seed": args.seed,
        "start_utc": args.start.isoformat(),
        "workers": args.workers,
        "outcomes_by_slot": by_slot,
        "not_optimal": not_optimal,
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--homes", type=int, default=1000)
    parser.add_argument("--slots", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2, help="kept-model caches (planners)")
    parser.add_argument(
        "--start",
        type=datetime.fromisoformat,
        default=datetime.fromisoformat("2026-12-06T22:30:00+00:00"),
        help="the first slot (UTC, ISO 8601 with its offset)",
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="directory for the JSON")
    args = parser.parse_args(argv)
    if args.homes < 1 or args.slots < 1 or args.seed < 0 or args.workers < 1:
        parser.error("--homes, --slots and --workers >= 1 and --seed >= 0, please")
    if args.start.tzinfo is None or args.start.minute % 30 or args.start.second:
        parser.error("--start must be a slot's start (:00 or :30) with its UTC offset")
    logging.basicConfig(level=logging.ERROR)  # each fallback is printed here, once
    result = run(args)
    args.results.mkdir(parents=True, exist_ok=True)
    out = args.results / "fleet_plan_outcomes.json"
    out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
