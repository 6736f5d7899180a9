"""The safe rule-based plan used when the solver gives no solution.

Rules: EVs charge as soon as they are plugged in, at full power, until their target; heat pumps
hold the comfort band's minimum (and the tank's minimum); batteries stay idle; appliances start
at their earliest allowed slot; PV runs unless the export limit forces curtailment.
"""

from __future__ import annotations

import numpy as np

from optimiser.components.battery import BatteryDispatch
from optimiser.components.ev import EvDispatch, asap_charge_kw, session_windows
from optimiser.components.heat_pump import rule_based_heat_pump
from optimiser.plan import Dispatch, Plan, PlanStatus, SolverReport, assemble_plan
from optimiser.problem import Problem


def rule_based_dispatch(problem: Problem) -> Dispatch:
    """Decisions of the rule-based plan (see the module docstring)."""
    grid = problem.grid
    n = grid.n_steps
    d = Dispatch()
    load = problem.base_load.copy()
    for bat in problem.batteries:
        d.batteries[bat.name] = BatteryDispatch(np.zeros(n), np.zeros(n))
    for ev in problem.evs:
        charge = sum((asap_charge_kw(ev, grid, w) for w in session_windows(ev, grid)), np.zeros(n))
        d.evs[ev.name] = EvDispatch(charge_kw=charge, discharge_kw=np.zeros(n))
        load += charge
    for hp in problem.heat_pumps:
        hd = rule_based_heat_pump(hp, grid, problem.outdoor_temperature)
        d.heat_pumps[hp.name] = hd
        load += hd.space_kw + hd.tank_kw
    for app in problem.appliances:
        starts = app.allowed_starts(grid)
        start = starts[0] if starts else None
        d.appliances[app.name] = start
        if start is not None:
            profile = app.run_profile_kw(grid)
            load[start : start + len(profile)] += profile
    room = load + problem.export_limit_kw  # PV beyond this would break the export limit
    for pv in problem.pv:
        used = np.minimum(pv.forecast, np.clip(room, 0.0, None))
        d.pv_kw[pv.name] = used
        room -= used
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
