"""A car that arrives or leaves inside a slot gets the energy the plan counts for that slot:
the charger is told the slot's power while the car is plugged in, not its slot average."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from hems.demo import demo_home_spec
from hems.dispatch import planned_powers
from hems.domain.devices import EvChargerSpec
from hems.simulation.devices import SimulatedEvCharger, Stay
from kernel.devices import Setpoint
from optimiser import ElectricVehicle, Plan, PlugInSession, Problem, TimeGrid, optimise

START = datetime(2026, 1, 15, 0, 0, tzinfo=UTC)
ARRIVE = START + timedelta(minutes=20)  # plugged for 10 of the first slot's 30 minutes
LEAVE = START + timedelta(hours=2, minutes=10)  # and 10 of the fifth's
CAPACITY_KWH = 40.0
MAX_KW = 7.4


def _plan_needing_every_plugged_minute() -> tuple[TimeGrid, Plan]:
    """A plan for a car that needs 12.8 kWh in its 1 h 50 min on a 7.4 kW charger (13.6 kWh
    at most): it must charge in the slots it arrives and leaves in too."""
    grid = TimeGrid(start_utc=START, step_minutes=30, n_steps=8)
    ev = ElectricVehicle(
        name="EV",
        battery_capacity_kwh=CAPACITY_KWH,
        max_charge_kw=MAX_KW,
        charge_efficiency=1.0,
        sessions=(
            PlugInSession(
                arrival_utc=ARRIVE, departure_utc=LEAVE, arrival_soc=0.5, target_soc=0.82
            ),
        ),
    )
    plan = optimise(Problem(grid=grid, import_price_gbp_per_kwh=0.2, evs=(ev,)))
    return grid, plan


def test_the_plan_tells_the_power_while_plugged_in_for_a_partial_slot() -> None:
    _, plan = _plan_needing_every_plugged_minute()
    s = plan.schedule
    assert plan.totals.ev_shortfall_kwh == pytest.approx(0.0, abs=1e-6)
    first, last = s.iloc[0], s.iloc[4]
    # a third of each slot plugged: the slot's average is a third of the power while plugged
    assert first["EV.power_kw"] > 0.5
    assert last["EV.power_kw"] > 0.5
    assert first["EV.setpoint_kw"] == pytest.approx(3 * first["EV.power_kw"])
    assert last["EV.setpoint_kw"] == pytest.approx(3 * last["EV.power_kw"])
    assert s["EV.setpoint_kw"].max() <= MAX_KW + 1e-6
    # whole slots: the same; slots without the car: nothing
    assert s["EV.setpoint_kw"].iloc[1:4].tolist() == pytest.approx(s["EV.power_kw"].iloc[1:4])
    assert s["EV.setpoint_kw"].iloc[5:].tolist() == [0.0, 0.0, 0.0]


def _charger(stay: Stay, now_utc: datetime) -> SimulatedEvCharger:
    """A 7.4 kW charger, losses aside, for one stay of the 40 kWh car."""
    return SimulatedEvCharger(
        name="EV",
        capacity_kwh=CAPACITY_KWH,
        min_kw=1.4,
        max_kw=MAX_KW,
        efficiency=1.0,
        stays=[stay],
        now_utc=now_utc,
    )


def test_the_simulated_car_leaves_with_the_energy_the_plan_counts() -> None:
    grid, plan = _plan_needing_every_plugged_minute()
    home = demo_home_spec().model_copy(
        update={
            "devices": [
                EvChargerSpec(
                    name="EV",
                    vehicle_capacity_kwh=CAPACITY_KWH,
                    max_charge_kw=MAX_KW,
                    charge_efficiency=1.0,
                )
            ]
        }
    )
    charger = _charger(Stay(arrive_utc=ARRIVE, leave_utc=LEAVE, arrival_soc=0.5), START)
    for t in range(grid.n_steps):
        slot = grid.slot_start(t)
        # told once, at the slot's start, before the car comes in the first slot: the charger
        # keeps its setpoint for the car that arrives
        asyncio.run(
            charger.apply(Setpoint(power_kw=planned_powers(plan.schedule, home, slot)["EV"]))
        )
        for minute in range(5, 35, 5):
            charger.advance(slot + timedelta(minutes=minute), None)  # type: ignore[arg-type]
    [(left_at, soc)] = charger.departures
    assert left_at == LEAVE
    assert soc == pytest.approx(0.82, abs=1e-6)


def test_the_simulated_home_charges_from_the_minute_a_car_comes_to_the_minute_it_leaves() -> None:
    # 10:01-10:54 inside the home's 5-minute steps; the charger waits at 6 kW. Before the steps
    # ended at the car's comings and goings it charged 10:05-10:55 (50 minutes), past the
    # minute the car left.
    import pandas as pd

    from hems.market import COLUMNS, ReplayedMarket
    from hems.simulation.home import SimulatedHome

    at = START + timedelta(hours=10)
    stay = Stay(
        arrive_utc=at + timedelta(minutes=1), leave_utc=at + timedelta(minutes=54), arrival_soc=0.5
    )
    charger = _charger(stay, at)
    charger.setpoint_kw = 6.0
    flat = pd.DataFrame(
        {
            "import_price_gbp_per_kwh": 0.2,
            "export_price_gbp_per_kwh": 0.05,
            "carbon_intensity_g_per_kwh": 200.0,
            "base_load_kw": 0.0,
            "outdoor_temperature_c": 8.0,
            "pv_kw_per_kwp": 0.0,
        },
        index=pd.date_range(at, periods=4, freq="30min"),
    )[list(COLUMNS)]
    home = SimulatedHome(
        devices={"EV": charger}, market=ReplayedMarket(flat), now_utc=at, noise=0.0
    )
    home.advance(at + timedelta(hours=1))
    [(left_at, soc)] = charger.departures
    assert left_at == stay.leave_utc
    base_kwh = home.environment(at).base_load_kw * 1.0  # the home's floor, for the hour
    assert home.meter.import_kwh == pytest.approx(6.0 * 53 / 60 + base_kwh)
    assert soc == pytest.approx(0.5 + 6.0 * 53 / 60 / CAPACITY_KWH)
