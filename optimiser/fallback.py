"""The safe rule-based plan used when the solver gives no solution.

Rules: EVs charge as soon as they are plugged in, at full power, until their target; heat pumps
hold the comfort band's minimum (and the tank's minimum); batteries stay idle; appliances start
at their earliest allowed slot; PV runs unless the export limit forces curtailment.
"""

from __future__ import annotations

from optimiser.plan import Dispatch, Plan, PlanStatus, SolverReport, assemble_plan
from optimiser.problem import Problem
from optimiser.registry import ASSET_KINDS


def rule_based_dispatch(problem: Problem) -> Dispatch:
    """Decisions of the rule-based plan (see the module docstring): each kind's rule, the
    consuming kinds first, so that generation sees the load it may cover."""
    d = Dispatch()
    load_kw = problem.base_load.copy()
    for kind in sorted(ASSET_KINDS, key=lambda k: k.fallback_stage):
        decisions = d.of(kind.field)
        for asset in kind.assets(problem):
            decisions[asset.name] = kind.rule_based(problem, asset, load_kw)
    return d


def rule_based_plan(problem: Problem, why: str = "rule-based baseline") -> Plan:
    """The rule-based plan, assembled and costed like any plan. The service also uses it as
    the naive baseline that savings are measured against."""
    report = SolverReport(
        status=PlanStatus.FALLBACK,
        message=why,
        objective_gbp=float("nan"),
        bound_gbp=float("nan"),
        gap=float("nan"),
        build_s=0.0,
        solve_s=0.0,
        extract_s=0.0,
        rounds=0,
        n_binaries=0,
        n_columns=0,
        n_rows=0,
    )
    return assemble_plan(problem, rule_based_dispatch(problem), report)
