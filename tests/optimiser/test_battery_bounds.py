"""A battery that starts outside its SoC bounds is planned back into them, and the plan says so."""

from __future__ import annotations

import pytest

from optimiser import PlanStatus, Problem, PvArray, Wish, optimise
from optimiser.fallback import rule_based_plan

from .conftest import battery


def _bounds_reasons(plan):
    return [v for v in plan.violations if v.wish is Wish.BATTERY_BOUNDS]


def test_a_battery_below_its_reserve_recovers_it_at_once_and_never_goes_lower(hourly_grid):
    # dear now, cheap later: recovering the reserve still comes first
    prices = [0.40, 0.40, 0.10, 0.10, 0.10, 0.40, 0.40, 0.40, 0.40, 0.40]
    problem = Problem(
        grid=hourly_grid,
        import_price_gbp_per_kwh=prices,
        base_load_kw=0.5,
        batteries=(battery(initial_soc=0.10, min_soc=0.30),),
    )
    plan = optimise(problem)
    assert plan.status is PlanStatus.OPTIMAL
    soc = plan.schedule["Battery.soc_pct"].to_numpy()
    assert soc.min() >= 10.0 - 1e-6
    assert soc[0] == pytest.approx(30.0, abs=1e-6)  # 2 kWh in the first hour at up to 5 kW
    assert (soc >= 30.0 - 1e-6).all()
    (reason,) = _bounds_reasons(plan)
    assert reason.message == (
        "Battery starts at 10 %, below its 30 % reserve: the plan recovers its reserve by "
        "Thu 01:00, charging at up to 5 kW."
    )
    assert plan.totals.penalty_gbp == pytest.approx(0.0, abs=1e-6)  # back within the slot's end


def test_a_battery_that_cannot_recover_is_planned_and_the_reason_says_why(hourly_grid):
    problem = Problem(
        grid=hourly_grid,
        import_price_gbp_per_kwh=0.2,
        base_load_kw=0.5,
        batteries=(battery(initial_soc=0.05, min_soc=0.20, allow_grid_charging=False),),
    )
    plan = optimise(problem)
    assert plan.status is PlanStatus.OPTIMAL
    soc = plan.schedule["Battery.soc_pct"].to_numpy()
    assert soc == pytest.approx(5.0)  # no solar to charge from, and nothing below its start
    (reason,) = _bounds_reasons(plan)
    assert "still at 5 % at Thu 10:00" in reason.message
    assert "only from solar" in reason.message
    assert reason.amount == pytest.approx(10 * 1.5)  # 1.5 kWh below for 10 h
    assert plan.totals.penalty_gbp == pytest.approx(15.0)  # 1 GBP per kWh·h


def test_a_battery_recovers_with_solar_when_it_may_charge_only_from_solar(hourly_grid):
    problem = Problem(
        grid=hourly_grid,
        import_price_gbp_per_kwh=0.2,
        export_price_gbp_per_kwh=0.15,
        base_load_kw=0.5,
        pv=(PvArray(forecast_kw=[0, 0, 0, 0, 3, 3, 3, 3, 0, 0]),),
        batteries=(battery(initial_soc=0.05, min_soc=0.20, allow_grid_charging=False),),
    )
    plan = optimise(problem)
    soc = plan.schedule["Battery.soc_pct"].to_numpy()
    assert soc[:4] == pytest.approx(5.0)
    assert (soc[4:] >= 20.0 - 1e-6).all()
    (reason,) = _bounds_reasons(plan)
    assert "recovers its reserve by Thu 05:00" in reason.message


def test_a_battery_above_its_maximum_comes_down_and_never_goes_higher(hourly_grid):
    problem = Problem(
        grid=hourly_grid,
        # cheap now, dear later: it would fill up now if it could
        import_price_gbp_per_kwh=[0.01] + [0.50] * 9,
        base_load_kw=1.0,
        batteries=(battery(initial_soc=0.95, max_soc=0.80),),
    )
    plan = optimise(problem)
    soc = plan.schedule["Battery.soc_pct"].to_numpy()
    assert soc.max() <= 80.0 + 1e-6  # back at its maximum by the end of the first hour
    (reason,) = _bounds_reasons(plan)
    assert "above its 80 % maximum" in reason.message
    assert "comes back to its maximum" in reason.message


def test_the_rule_based_plan_reports_a_battery_left_below_its_reserve(hourly_grid):
    problem = Problem(
        grid=hourly_grid,
        import_price_gbp_per_kwh=0.2,
        batteries=(battery(initial_soc=0.10, min_soc=0.30),),
    )
    plan = rule_based_plan(problem)
    (reason,) = _bounds_reasons(plan)
    assert "still at 10 %" in reason.message


def test_a_battery_within_its_bounds_has_no_recovery_in_its_model_or_plan(hourly_grid):
    problem = Problem(
        grid=hourly_grid,
        import_price_gbp_per_kwh=0.2,
        batteries=(battery(initial_soc=0.30, min_soc=0.30),),
    )
    plan = optimise(problem)
    assert _bounds_reasons(plan) == []


def test_a_start_a_rounding_below_the_reserve_is_planned_without_a_recovery(hourly_grid):
    problem = Problem(
        grid=hourly_grid,
        import_price_gbp_per_kwh=0.2,
        base_load_kw=0.5,
        batteries=(battery(initial_soc=0.3 - 1e-8, min_soc=0.30),),
    )
    plan = optimise(problem)
    assert plan.status is PlanStatus.OPTIMAL
    assert _bounds_reasons(plan) == []
    assert plan.schedule["Battery.soc_pct"].min() >= 30.0 - 1e-5
