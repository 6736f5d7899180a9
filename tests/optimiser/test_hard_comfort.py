"""A hard comfort band on request: held exactly, or no plan with the reason, never an exception."""

from __future__ import annotations

import pytest

from kernel.errors import ProblemError
from optimiser import (
    Battery,
    Building,
    CopCurve,
    HeatPump,
    PlanStatus,
    Problem,
    optimise,
)
from optimiser.highs_backend import SolveStatus


def _heat_pump(max_power_kw: float = 4.0, **building: object) -> HeatPump:
    args: dict[str, object] = {
        "heat_loss_kw_per_k": 0.1,
        "thermal_capacity_kwh_per_k": 5.0,
        "initial_indoor_temperature_c": 20.0,
    }
    args.update(building)
    return HeatPump(
        max_power_kw=max_power_kw,
        cop=CopCurve(outdoor_temperature_c=(-10.0, 10.0), cop=(2.0, 4.0)),
        building=Building(**args),  # type: ignore[arg-type]
        comfort_min_c=20.0,
        comfort_max_c=21.0,
    )


def _problem(grid, *, hard: bool, **kwargs: object) -> Problem:
    args: dict[str, object] = {
        "grid": grid,
        "import_price_gbp_per_kwh": 0.2,
        "outdoor_temperature_c": 0.0,
        "heat_pumps": (_heat_pump(),),
        "hard_comfort": hard,
    }
    args.update(kwargs)
    return Problem(**args)  # type: ignore[arg-type]


def test_a_hard_band_is_held_where_the_soft_band_is_traded_for_price(hourly_grid):
    prices = [0.01] * 3 + [3.0] * 7  # the soft plan stores heat above the band before 03:00
    soft = optimise(_problem(hourly_grid, hard=False, import_price_gbp_per_kwh=prices))
    hard = optimise(_problem(hourly_grid, hard=True, import_price_gbp_per_kwh=prices))
    assert soft.schedule["Heat pump.indoor_c"].max() > 21.1
    assert hard.status is PlanStatus.OPTIMAL
    indoor = hard.schedule["Heat pump.indoor_c"]
    assert indoor.max() <= 21.0 + 1e-6
    assert indoor.min() >= 20.0 - 1e-6
    assert not hard.violations
    # the hard band costs more energy than the soft band's energy plus its penalty, never less
    assert hard.totals.objective_gbp >= soft.totals.objective_gbp - 1e-6


def test_a_heat_pump_too_small_for_the_cold_gives_a_plan_and_says_when_and_why(hourly_grid):
    problem = _problem(
        hourly_grid,
        hard=True,
        outdoor_temperature_c=[0.0] * 4 + [-10.0] * 6,
        heat_pumps=(_heat_pump(max_power_kw=1.0, heat_loss_kw_per_k=0.2),),
    )
    plan = optimise(problem)
    assert plan.status is PlanStatus.FALLBACK
    assert plan.solver.termination is SolveStatus.INFEASIBLE
    message = plan.solver.message
    assert "the hard comfort band cannot be held" in message
    assert "Heat pump is too small for the cold" in message
    assert "at its full 1 kW (COP 2.0 at -10 °C outside)" in message
    assert "Thu 0" in message  # the slots, in local time


def test_a_home_too_warm_for_its_hard_band_says_a_heat_pump_cannot_cool(hourly_grid):
    problem = _problem(
        hourly_grid,
        hard=True,
        heat_pumps=(_heat_pump(initial_indoor_temperature_c=23.0),),
    )
    plan = optimise(problem)
    assert plan.solver.termination is SolveStatus.INFEASIBLE
    assert "too warm Thu 00:00-" in plan.solver.message
    assert "a heat pump cannot cool" in plan.solver.message


def test_an_import_limit_too_small_to_heat_the_home_is_named(hourly_grid):
    problem = _problem(
        hourly_grid,
        hard=True,
        outdoor_temperature_c=-10.0,
        base_load_kw=5.5,
        import_limit_kw=6.0,  # 0.5 kW left for a heat pump that needs about 1.5 kW
        heat_pumps=(_heat_pump(heat_loss_kw_per_k=0.2),),
    )
    plan = optimise(problem)
    assert plan.solver.termination is SolveStatus.INFEASIBLE
    assert "the 6 kW import limit leaves Heat pump at most 0.5 kW" in plan.solver.message


def _limited_home_with_battery(grid, capacity_kwh: float) -> Problem:
    """The import-limited home with a battery that can supply what the limit does not, for as
    long as its energy lasts (about 2.6 kW for the 10 hours: 26 kWh from the battery)."""
    return _problem(
        grid,
        hard=True,
        outdoor_temperature_c=-10.0,
        base_load_kw=5.5,
        import_limit_kw=6.0,
        heat_pumps=(_heat_pump(heat_loss_kw_per_k=0.2),),
        batteries=(
            Battery(
                capacity_kwh=capacity_kwh,
                initial_soc=1.0,
                max_charge_kw=3.0,
                max_discharge_kw=3.0,
            ),
        ),
    )


def test_a_battery_large_enough_to_cover_the_heat_pump_makes_the_band_feasible(hourly_grid):
    plan = optimise(_limited_home_with_battery(hourly_grid, 40.0))
    assert plan.status is PlanStatus.OPTIMAL
    assert plan.schedule["Heat pump.indoor_c"].min() >= 20.0 - 1e-6


def test_limits_that_fail_only_together_are_reported_as_such(hourly_grid):
    plan = optimise(_limited_home_with_battery(hourly_grid, 20.0))  # runs out at 07:00
    assert plan.status is PlanStatus.FALLBACK
    assert plan.solver.termination in (
        SolveStatus.INFEASIBLE,
        SolveStatus.INFEASIBLE_OR_UNBOUNDED,
    )
    assert "no single limit explains it" in plan.solver.message


def test_hard_comfort_must_be_a_flag(hourly_grid):
    with pytest.raises(ProblemError) as err:
        _problem(hourly_grid, hard="yes")  # type: ignore[arg-type]
    assert err.value.field == "hard_comfort"
