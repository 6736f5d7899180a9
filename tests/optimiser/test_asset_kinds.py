"""The asset-kind registry and extensions that find an asset's block by its name."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from optimiser import (
    ModelContext,
    Problem,
    ProblemError,
    PvArray,
    TimeGrid,
    build_model,
    optimise,
    rule_based_plan,
)
from optimiser.registry import ASSET_KINDS

from .conftest import battery, plugged_ev


def test_every_asset_field_of_the_problem_has_one_kind_in_the_registry():
    asset_fields = [
        f.name
        for f in dataclasses.fields(Problem)
        if str(f.type).startswith("tuple[") and f.name not in ("dsr_requests", "import_rewards")
    ]
    assert [kind.field for kind in ASSET_KINDS] == asset_fields
    assert len({kind.block_prefix for kind in ASSET_KINDS}) == len(ASSET_KINDS)


def _two_cars(grid: TimeGrid) -> Problem:
    # "Second car" is listed first, so a hook reaching for the first EV by position would
    # find the wrong car
    cars = (
        dataclasses.replace(
            plugged_ev(arrive_h=0, leave_h=8, arrival_soc=0.2, target_soc=0.5, capacity_kwh=40.0),
            name=name,
        )
        for name in ("Second car", "First car")
    )
    return Problem(grid=grid, import_price_gbp_per_kwh=0.2, evs=tuple(cars), batteries=(battery(),))


def test_an_extension_finds_an_asset_block_by_the_asset_name(hourly_grid: TimeGrid):
    def first_car_waits(ctx: ModelContext) -> None:
        car = ctx.block("First car")
        for t in car.charge_kw:
            car.charge_kw[t].fix(0.0)

    plan = optimise(_two_cars(hourly_grid), extensions=[first_car_waits])
    assert plan.schedule["First car.power_kw"].sum() == 0.0
    assert plan.schedule["Second car.power_kw"].sum() > 0.0
    assert {v.asset for v in plan.violations} == {"First car"}


def test_an_unknown_asset_name_is_a_clear_error(hourly_grid: TimeGrid):
    built = build_model(_two_cars(hourly_grid))
    assert built.context.block("Battery") is built.blocks["Battery"]
    with pytest.raises(KeyError, match=r"no asset named 'Car'.*'Second car', 'First car'"):
        built.context.block("Car")


def test_the_fallback_decides_consumption_before_generation(hourly_grid: TimeGrid):
    # PV's rule (use it all unless export would pass its limit) must see the EVs' charging
    problem = dataclasses.replace(
        _two_cars(hourly_grid), pv=(PvArray(forecast_kw=6.0),), export_limit_kw=0.0
    )
    plan = rule_based_plan(problem)
    charging = plan.schedule["First car.power_kw"] + plan.schedule["Second car.power_kw"]
    used = -plan.schedule["PV.power_kw"]
    np.testing.assert_allclose(used, np.minimum(6.0, charging + problem.base_load), atol=1e-9)
    assert plan.schedule["grid_export_kw"].max() == pytest.approx(0.0, abs=1e-9)


def test_generation_counts_against_a_base_load_above_the_import_limit(hourly_grid: TimeGrid):
    # 25 kW of base load passes a 23 kW import limit unless PV can cover the 2 kW more
    Problem(
        grid=hourly_grid,
        import_price_gbp_per_kwh=0.2,
        base_load_kw=25.0,
        pv=(PvArray(forecast_kw=2.0),),
    )
    with pytest.raises(ProblemError, match="even with all PV") as err:
        Problem(
            grid=hourly_grid,
            import_price_gbp_per_kwh=0.2,
            base_load_kw=25.0,
            pv=(PvArray(forecast_kw=1.5),),
        )
    assert err.value.field == "base_load_kw"
