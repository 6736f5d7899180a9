"""An LP that HiGHS ends ``Unknown`` is solved again, from no basis (issue 29).

The fleet run's rule-based fallbacks "no solution (Unknown)" (~0.6 % of the plans) were homes
without binaries planned through a kept model (``optimiser.model_cache``): the LP, started from
the last plan's basis, ended with a primal feasible point HiGHS's simplex could not prove
optimal. The home in the fixture is the smallest that showed it (a flat heated by a heat pump,
nothing else); its second plan through a kept model fell back every time.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import highspy
import numpy as np
import pytest

from optimiser import (
    Building,
    HeatPump,
    HplibCop,
    ModelCache,
    PlanStatus,
    Problem,
    SolverOptions,
    TimeGrid,
    optimise,
)
from optimiser.highs_backend import HighsModel
from optimiser.model import build_model
from optimiser.planner import initial_binary_slots
from optimiser.termination import SolveStatus

FIXTURE = Path(__file__).parent / "fixtures" / "warm_start_unknown_home.json"


def fixture_home() -> Problem:
    """The fixture's home (see its ``about``)."""
    d: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    n = d["n_steps"]
    hp = d["heat_pump"]
    building = Building(
        heat_loss_kw_per_k=hp["heat_loss_kw_per_k"],
        thermal_capacity_kwh_per_k=hp["thermal_capacity_kwh_per_k"],
        initial_indoor_temperature_c=hp["initial_indoor_temperature_c"],
        internal_gain_kw=np.full(n, hp["internal_gain_kw"]),
    )
    heat_pump = HeatPump(
        max_power_kw=hp["max_power_kw"],
        cop=HplibCop(**hp["cop"]),
        building=building,
        comfort_min_c=np.array(hp["comfort_min_c"]),
        comfort_max_c=np.full(n, hp["comfort_max_c"]),
    )
    grid = TimeGrid(
        start_utc=datetime.fromisoformat(d["start_utc"]),
        step_minutes=d["step_minutes"],
        n_steps=n,
    )
    return Problem(
        grid=grid,
        import_price_gbp_per_kwh=np.array(d["import_price_gbp_per_kwh"]),
        export_price_gbp_per_kwh=np.array(d["export_price_gbp_per_kwh"]),
        carbon_intensity_g_per_kwh=np.array(d["carbon_intensity_g_per_kwh"]),
        carbon_weight_gbp_per_kg=d["carbon_weight_gbp_per_kg"],
        base_load_kw=np.array(d["base_load_kw"]),
        import_limit_kw=d["import_limit_kw"],
        export_limit_kw=d["export_limit_kw"],
        outdoor_temperature_c=np.array(d["outdoor_temperature_c"]),
        heat_pumps=(heat_pump,),
    )


def test_the_fixture_home_gets_a_real_plan_every_time_through_a_kept_model() -> None:
    home = fixture_home()
    assert not any(initial_binary_slots(home).by_key.values())  # an LP: no binaries
    fresh = optimise(home)
    assert fresh.solver.status is PlanStatus.OPTIMAL
    models = ModelCache(keep_after=1)
    for _ in range(3):  # the second plan (the first warm-started one) fell back before
        kept = optimise(home, models=models)
        assert kept.solver.status is PlanStatus.OPTIMAL, kept.solver.message
        assert kept.solver.objective_gbp == pytest.approx(fresh.solver.objective_gbp, rel=1e-6)
    assert models.stats().hits == 2


def test_an_lp_ended_unknown_is_solved_again_from_no_basis(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Whatever made the first run end ``Unknown``, the LP's outcome is the second run's."""
    highs = HighsModel(build_model(fixture_home()).model, SolverOptions())
    h = highs.highs
    runs: list[object] = []
    real_run, real_status = h.run, h.getModelStatus
    statuses = iter([_UNKNOWN])  # the first run's status read as the fleet's warm start ended

    def run() -> Any:
        runs.append(h.getOptionValue("presolve")[1])
        return real_run()

    monkeypatch.setattr(h, "run", run)
    monkeypatch.setattr(h, "getModelStatus", lambda: next(statuses, None) or real_status())
    outcome = highs.solve(10.0)
    assert runs == ["choose", "on"]  # the retry presolved
    assert h.getOptionValue("presolve")[1] == "choose"  # and the option restored
    assert outcome.status is SolveStatus.OPTIMAL
    assert outcome.highs_status == "Optimal"


_UNKNOWN = highspy.HighsModelStatus.kUnknown
