"""A MIP solved from a start returns the solution it reports (HiGHS 1.16 could hand back the
start's values with the better objective: optimiser/mip_start_guard.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from optimiser import Problem, PvArray, SolverOptions, TimeGrid, optimise


def pv_home() -> Problem:
    """16 slots, PV alone; at 05:00 importing pays 6.25 p and exporting earns 25 p, with a
    0.5 kW load and 1 kW of PV: exporting the 0.5 kW left (-6.25 p) beats importing the load
    and curtailing the PV (-1.56 p). Found by the property test of test_warm_start.py."""
    n = 16
    imp = np.zeros(n)
    imp[10] = -0.0625
    exp = np.zeros(n)
    exp[9:13] = [0.47522004, 0.25, 0.5, 0.5]
    load = np.zeros(n)
    load[10] = 0.5
    pv = np.zeros(n)
    pv[9:11] = [3.0, 1.0]
    return Problem(
        grid=TimeGrid(start_utc=datetime(2026, 1, 15, tzinfo=UTC), step_minutes=30, n_steps=n),
        import_price_gbp_per_kwh=imp,
        export_price_gbp_per_kwh=exp,
        base_load_kw=load,
        import_limit_kw=23.0,
        export_limit_kw=3.68,
        pv=(PvArray(name="PV", forecast_kw=pv),),
    )


def test_the_plan_delivers_the_objective_it_reports():
    plan = optimise(pv_home(), SolverOptions())
    assert plan.solver.objective_gbp == pytest.approx(-0.77533006, abs=1e-7)
    assert plan.totals.objective_gbp == pytest.approx(plan.solver.objective_gbp, abs=1e-7)
    at_five = plan.schedule.iloc[10]
    assert at_five["grid_export_kw"] == pytest.approx(0.5)
    assert at_five["PV.curtailed_kw"] == pytest.approx(0.0, abs=1e-9)
