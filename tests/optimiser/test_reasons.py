"""A missed wish's reason names its real cause, found from the plan, not assumed."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from kernel.dsr import DsrKind
from optimiser import (
    Building,
    CopCurve,
    DsrRequest,
    HeatPump,
    Problem,
    Wish,
    optimise,
)

from .conftest import START, plugged_ev


def _cap(value_kw: float) -> DsrRequest:
    return DsrRequest(
        kind=DsrKind.IMPORT_CAP,
        start_utc=START + timedelta(hours=2),
        end_utc=START + timedelta(hours=4),
        value_kw=value_kw,
        penalty_gbp_per_kwh=0.5,
        event_id="evt-1",
    )


def _dsr_reason(plan) -> str:
    (v,) = [v for v in plan.violations if v.wish is Wish.DSR]
    return v.message


def test_an_import_cap_missed_because_the_plan_charges_the_ev_names_the_ev(hourly_grid):
    # the car is plugged in only during the cap and needs full power to reach its target, which
    # is worth more (5 GBP/kWh) than the request (0.5 GBP/kWh): the plan chooses to charge
    ev = plugged_ev(
        arrive_h=2, leave_h=4, arrival_soc=0.2, target_soc=0.4, capacity_kwh=60.0, min_charge_kw=0.0
    )
    problem = Problem(
        grid=hourly_grid,
        import_price_gbp_per_kwh=0.2,
        base_load_kw=2.5,  # above the 2 kW cap on its own too
        evs=(ev,),
        dsr_requests=(_cap(2.0),),
    )
    plan = optimise(problem)
    assert plan.schedule["EV.power_kw"].iloc[2] > 5.0
    reason = _dsr_reason(plan)
    assert "the plan runs EV (up to 7.4 kW) then" in reason
    assert "other load alone is 2.5 kW" in reason


def test_an_import_cap_missed_by_the_base_load_alone_blames_the_base_load(hourly_grid):
    problem = Problem(
        grid=hourly_grid,
        import_price_gbp_per_kwh=0.2,
        base_load_kw=2.5,
        dsr_requests=(_cap(2.0),),
    )
    reason = _dsr_reason(optimise(problem))
    assert reason.endswith(": the home's other load alone is 2.5 kW.")


def _heat_pump(**building: object) -> HeatPump:
    args: dict[str, object] = {
        "heat_loss_kw_per_k": 0.1,
        "thermal_capacity_kwh_per_k": 5.0,
        "initial_indoor_temperature_c": 20.0,
    }
    args.update(building)
    return HeatPump(
        max_power_kw=4.0,
        cop=CopCurve(outdoor_temperature_c=(0.0,), cop=(3.0,)),
        building=Building(**args),  # type: ignore[arg-type]
        comfort_min_c=20.0,
        comfort_max_c=21.0,
    )


def _too_warm_reasons(plan) -> list[str]:
    return [v.message for v in plan.violations if v.wish is Wish.COMFORT and "above" in v.message]


def test_too_warm_because_the_plan_preheats_before_dear_hours_names_the_preheating(hourly_grid):
    # nearly free now, very dear later: the plan stores heat in the building above the band
    prices = [0.01] * 3 + [3.0] * 7
    problem = Problem(
        grid=hourly_grid,
        import_price_gbp_per_kwh=prices,
        outdoor_temperature_c=0.0,
        heat_pumps=(_heat_pump(),),
    )
    plan = optimise(problem)
    (reason,) = _too_warm_reasons(plan)
    assert "the plan heats ahead of dearer hours" in reason
    assert "free gains" not in reason


def test_too_warm_on_a_warm_day_names_the_weather(hourly_grid):
    problem = Problem(
        grid=hourly_grid,
        import_price_gbp_per_kwh=0.2,
        outdoor_temperature_c=26.0,
        heat_pumps=(_heat_pump(heat_loss_kw_per_k=0.5),),
    )
    (reason,) = _too_warm_reasons(optimise(problem))
    assert "it is 26 °C outside and the heat pump cannot cool" in reason


def test_too_warm_from_a_warm_start_names_the_start(hourly_grid):
    problem = Problem(
        grid=hourly_grid,
        import_price_gbp_per_kwh=0.2,
        outdoor_temperature_c=10.0,
        heat_pumps=(_heat_pump(initial_indoor_temperature_c=24.0),),
    )
    (reason,) = _too_warm_reasons(optimise(problem))
    assert "the home starts at 24.0 °C and cools slowly" in reason


def test_too_warm_from_the_sun_names_the_free_gains(hourly_grid):
    problem = Problem(
        grid=hourly_grid,
        import_price_gbp_per_kwh=0.2,
        outdoor_temperature_c=10.0,
        heat_pumps=(_heat_pump(solar_gain_kw=[0, 0, 3, 3, 3, 3, 0, 0, 0, 0]),),
    )
    (reason,) = _too_warm_reasons(optimise(problem))
    assert "free gains (sun, occupants) exceed the building's losses" in reason


def test_too_warm_because_an_on_off_unit_overshoots_names_the_unit(hourly_grid):
    hp = _heat_pump()
    problem = Problem(
        grid=hourly_grid,
        import_price_gbp_per_kwh=0.2,
        outdoor_temperature_c=0.0,
        # 12 kW of heat for an hour lifts the home by about 2 K, past the 1 K band
        heat_pumps=(replace(hp, modulating=False),),
    )
    reasons = _too_warm_reasons(optimise(problem))
    assert reasons
    assert all("runs only at its full 4 kW" in r for r in reasons)


def _too_cold_reasons(plan) -> list[str]:
    return [v.message for v in plan.violations if v.wish is Wish.COMFORT and "below" in v.message]


def test_too_cold_because_heating_costs_more_than_the_miss_names_the_price(hourly_grid):
    # at 3 GBP/kWh the plan lets the home cool rather than heat (the heat pump has room)
    problem = Problem(
        grid=hourly_grid,
        import_price_gbp_per_kwh=3.0,
        outdoor_temperature_c=0.0,
        heat_pumps=(_heat_pump(),),
    )
    plan = optimise(problem)
    (reason,) = _too_cold_reasons(plan)
    assert reason.endswith(
        ": falling short costs the plan less than energy at up to 300 p/kWh then."
    )


def test_too_cold_because_of_the_import_limit_names_the_limit_and_when(hourly_grid):
    problem = Problem(
        grid=hourly_grid,
        import_price_gbp_per_kwh=0.2,
        outdoor_temperature_c=-5.0,
        base_load_kw=[1.0] * 4 + [5.8] * 6,  # 0.2 kW left for heating from 04:00
        import_limit_kw=6.0,
        heat_pumps=(_heat_pump(),),
    )
    plan = optimise(problem)
    (reason,) = _too_cold_reasons(plan)
    assert ": the home's import is at its 6 kW limit Thu 0" in reason


def test_an_ev_short_of_its_target_under_a_dsr_cap_names_the_request(hourly_grid):
    ev = plugged_ev(
        arrive_h=2, leave_h=4, arrival_soc=0.2, target_soc=0.4, capacity_kwh=60.0, min_charge_kw=0.0
    )
    cap = replace(_cap(1.0), penalty_gbp_per_kwh=10.0)  # dearer to miss than the car's target
    problem = Problem(
        grid=hourly_grid,
        import_price_gbp_per_kwh=0.2,
        base_load_kw=0.5,
        evs=(ev,),
        dsr_requests=(cap,),
    )
    plan = optimise(problem)
    (reason,) = [v.message for v in plan.violations if v.wish is Wish.EV_TARGET]
    assert reason.endswith(": DSR request evt-1 limits the home's power then.")
