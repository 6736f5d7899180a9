"""The cohort without and with coordination under a cohort import limit (issue 29, docs/cohort.md).

Run: ``python -m benchmarks.bench_cohort [--homes 100] [--cohort fleet|simple]
[--limit-fraction F] [--repeats 3]``. A synthetic cohort on one day of the bundled Agile sample
(:mod:`benchmarks.cohort_homes`): ``fleet`` (default), the fleet benchmark's cohort
(:mod:`hems.simulation.cohort`) built by the service's problem builder from 20:00 with every
car home; ``simple``, the module's own draws from noon with the cars arriving in the evening.
Prints, for the rule-based baseline plans, the uncoordinated plans and the plans coordinated
under a cohort import limit (by default the baseline's peak: the cohort makes no new peak;
``--limit-fraction F``: F x the uncoordinated peak): the cohort's peak import, herding index,
coincidence factor and bill; then the rounds to converge, the plans made, the cost of the
limit, the EV energy short and the wall time of a coordination (median of ``repeats`` runs) and
of one plan. One core, HiGHS threads=1. Writes ``benchmarks/results/cohort.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.cohort_homes import cohort, fleet_cohort
from hems.cohort.coordination import Coordination, CoordinationOptions, coordinate, measures_of
from hems.cohort.measures import CohortMeasures
from optimiser import (
    ModelExtension,
    Plan,
    Problem,
    SolverOptions,
    optimise,
    prepare_planner_process,
    rule_based_plan,
)

RESULTS = Path(__file__).resolve().parent / "results"
OPTIONS = SolverOptions(threads=1)


class TimedPlanner:
    """``optimise`` with one core and one home's extensions, timing each plan into ``times``."""

    def __init__(self, extensions: Sequence[ModelExtension], times: list[float]) -> None:
        self.extensions = extensions
        self.plan_s = times

    def __call__(self, problem: Problem) -> Plan:
        t0 = time.perf_counter()
        plan = optimise(problem, OPTIONS, self.extensions)
        self.plan_s.append(time.perf_counter() - t0)
        return plan


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
    kind: str, homes: int, limit_fraction: float | None, repeats: int, max_iterations: int
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
    walls: list[float] = []
    cpus: list[float] = []
    plan_s: list[float] = []
    result: Coordination | None = None
    for _ in range(repeats):
        planners = [TimedPlanner(e, plan_s) for _p, e in drawn]
        t0, c0 = time.perf_counter(), time.process_time()
        result = coordinate(problems, limit_kw, planners=planners, options=options)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    assert result is not None
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
        "wall_s_median": statistics.median(walls),
        "cpu_s_median": statistics.median(cpus),
        "plan_ms_median": 1000 * statistics.median(plan_s),
        "repeats": repeats,
    }


def _f(x: object, digits: int = 2) -> str:
    return "-" if x is None else f"{float(x):.{digits}f}"  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--homes", type=int, default=100)
    parser.add_argument("--cohort", choices=("fleet", "simple"), default="fleet")
    parser.add_argument("--limit-fraction", type=float, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-iterations", type=int, default=12)
    args = parser.parse_args()
    fraction = args.limit_fraction
    if args.homes < 1 or args.repeats < 1 or (fraction is not None and not 0 < fraction <= 1):
        parser.error("--homes and --repeats need >= 1, --limit-fraction in (0, 1]")
    r = run(args.cohort, args.homes, args.limit_fraction, args.repeats, args.max_iterations)
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
        f"(without, with); median wall {r['wall_s_median']:.2f} s (CPU {r['cpu_s_median']:.2f} "
        f"s) a coordination, {r['plan_ms_median']:.1f} ms a plan, {r['repeats']} repeats"
    )
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "cohort.json"
    out.write_text(json.dumps(r, indent=2, default=str))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
