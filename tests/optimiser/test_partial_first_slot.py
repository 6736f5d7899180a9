"""A plan made inside its first slot: the battery and heat pump run only for what is left of it."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import timedelta

import pytest

from kernel.errors import ProblemError
from optimiser import Building, CopCurve, HeatPump, PlanStatus, Problem, TimeGrid, optimise
from optimiser.fallback import rule_based_plan

from .conftest import START, battery

AT_10_07 = START + timedelta(hours=10, minutes=7)
LEFT = 23 / 30  # of the 10:00 slot


def _grid() -> TimeGrid:
    return TimeGrid(start_utc=START + timedelta(hours=10), step_minutes=30, n_steps=8)


def _battery_problem(**kwargs: object) -> Problem:
    args: dict[str, object] = {
        "grid": _grid(),
        "import_price_gbp_per_kwh": [0.05] + [0.40] * 7,  # cheap now only
        "base_load_kw": 1.0,
        "batteries": (battery(initial_soc=0.2, end_value_gbp_per_kwh=0.3),),
    }
    args.update(kwargs)
    return Problem(**args)  # type: ignore[arg-type]


def test_a_battery_charges_for_the_23_minutes_left_of_the_slot():
    whole = optimise(_battery_problem()).schedule
    partial = optimise(_battery_problem(plan_start_utc=AT_10_07)).schedule
    assert whole["Battery.power_kw"].iloc[0] == pytest.approx(5.0)
    # the slot's average is 23/30 of full power; the battery is told full power while it runs
    assert partial["Battery.power_kw"].iloc[0] == pytest.approx(5.0 * LEFT)
    assert partial["Battery.setpoint_kw"].iloc[0] == pytest.approx(5.0)
    # 5 kW for 23 minutes at 95 %: 1.82 kWh, not the 2.38 of a whole slot
    added_kwh = 5.0 * 0.95 * 23 / 60
    assert partial["Battery.soc_pct"].iloc[0] == pytest.approx(20.0 + 100 * added_kwh / 10)
    assert partial["Battery.setpoint_kw"].iloc[1:].tolist() == pytest.approx(
        partial["Battery.power_kw"].iloc[1:].tolist()
    )


def _heat_pump(**overrides: object) -> HeatPump:
    hp = HeatPump(
        max_power_kw=3.0,
        cop=CopCurve(outdoor_temperature_c=(0.0,), cop=(3.0,)),
        building=Building(
            heat_loss_kw_per_k=0.2,
            thermal_capacity_kwh_per_k=5.0,
            initial_indoor_temperature_c=19.0,
        ),
        comfort_min_c=21.0,
        comfort_max_c=23.0,
    )
    return replace(hp, **overrides)  # type: ignore[arg-type]


def _hp_problem(hp: HeatPump, **kwargs: object) -> Problem:
    args: dict[str, object] = {
        "grid": _grid(),
        "import_price_gbp_per_kwh": 0.2,
        "outdoor_temperature_c": 0.0,
        "heat_pumps": (hp,),
    }
    args.update(kwargs)
    return Problem(**args)  # type: ignore[arg-type]


def test_a_heat_pump_heats_for_the_23_minutes_left_from_the_measured_temperature():
    # 2 K below the minimum: it runs flat out in the first slot either way
    plan = optimise(_hp_problem(_heat_pump(), plan_start_utc=AT_10_07))
    row = plan.schedule.iloc[0]
    assert row["Heat pump.power_kw"] == pytest.approx(3.0 * LEFT)
    assert row["Heat pump.setpoint_kw"] == pytest.approx(3.0)
    # the exact 1R1C step over 23 minutes with 9 kW of heat from 19 °C at 0 °C outside
    h, c, hours = 0.2, 5.0, 23 / 60
    a = math.exp(-h * hours / c)
    expected = a * 19.0 + (1 - a) * 0.0 + (1 - a) / h * 9.0
    assert row["Heat pump.indoor_c"] == pytest.approx(expected)
    whole = optimise(_hp_problem(_heat_pump())).schedule.iloc[0]
    assert whole["Heat pump.indoor_c"] == pytest.approx(19.515, abs=1e-3)  # 30 minutes of it


def test_an_on_off_heat_pump_runs_at_full_power_for_the_minutes_left():
    plan = optimise(_hp_problem(_heat_pump(modulating=False), plan_start_utc=AT_10_07))
    assert plan.status is PlanStatus.OPTIMAL
    power = plan.schedule["Heat pump.power_kw"].to_numpy()
    assert power[0] == pytest.approx(3.0 * LEFT)  # on: full power for the 23 minutes
    assert all(p == pytest.approx(0.0, abs=1e-6) or p == pytest.approx(3.0) for p in power[1:])


def test_the_rule_based_plan_runs_the_heat_pump_for_the_minutes_left():
    plan = rule_based_plan(_hp_problem(_heat_pump(), plan_start_utc=AT_10_07))
    row = plan.schedule.iloc[0]
    assert row["Heat pump.power_kw"] == pytest.approx(3.0 * LEFT)
    assert row["Heat pump.setpoint_kw"] == pytest.approx(3.0)


def test_a_plan_start_at_the_slot_start_changes_nothing():
    start = _grid().start_utc
    at_start = optimise(_battery_problem(plan_start_utc=start))
    plain = optimise(_battery_problem())
    assert at_start.totals.objective_gbp == plain.totals.objective_gbp
    assert at_start.schedule.equals(plain.schedule)


@pytest.mark.parametrize(
    "moment",
    [START + timedelta(hours=9, minutes=59), START + timedelta(hours=10, minutes=30)],
    ids=["before", "next-slot"],
)
def test_a_plan_start_outside_the_first_slot_is_refused(moment):
    with pytest.raises(ProblemError) as err:
        _battery_problem(plan_start_utc=moment)
    assert err.value.field == "plan_start_utc"


def test_a_naive_plan_start_is_refused():
    with pytest.raises(ProblemError, match="timezone-aware"):
        _battery_problem(plan_start_utc=AT_10_07.replace(tzinfo=None))
