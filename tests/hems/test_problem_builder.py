"""From home, preferences and device states to the optimiser's problem."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pandas as pd
import pytest

from hems.demo import demo_home_spec
from hems.dispatch import planned_powers
from hems.domain.devices import HeatPumpSpec
from hems.domain.preferences import Departure, NextTrip, Preferences, Weekday
from hems.market import BASE_LOAD_P90, ReplayedMarket
from hems.problem_builder import (
    PauseRule,
    PeakHoursRule,
    PlanInputs,
    build_problem,
    next_departure,
    peak_slots,
)
from hems.settings import Settings
from hems.slot_setpoints import Safeguards
from kernel.devices import DeviceCapabilities, DeviceState
from optimiser import EvDispatchLag, PlanStatus, TimeGrid, Wish, optimise

from .conftest import MONDAY_5PM


def _inputs(now=MONDAY_5PM, prefs=None, states=None, market=None, **extra) -> PlanInputs:
    grid = TimeGrid.starting_at(now, step_minutes=30, horizon_hours=48)
    return PlanInputs(
        home=demo_home_spec(),
        preferences=prefs or Preferences(),
        states=states or {},
        market=ReplayedMarket().series(grid) if market is None else market,
        grid=grid,
        now_utc=now,
        **extra,
    )


def test_the_next_departure_is_the_one_off_trip_then_the_weekly_one():
    prefs = Preferences(
        ev_departures={Weekday.TUE: Departure(leave_at=time(7, 30), target_soc=0.7)},
        ev_next_trip=NextTrip(leave_at=datetime(2026, 12, 1, 5, 0, tzinfo=UTC), target_soc=0.9),
    )
    assert next_departure(prefs, MONDAY_5PM) == (datetime(2026, 12, 1, 5, 0, tzinfo=UTC), 0.9)
    after_trip = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
    assert next_departure(prefs, after_trip) == (datetime(2026, 12, 1, 7, 30, tzinfo=UTC), 0.7)
    after_tuesday = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert next_departure(prefs, after_tuesday) == (datetime(2026, 12, 8, 7, 30, tzinfo=UTC), 0.7)


def test_a_departure_in_summer_time_is_local_wall_clock_time():
    prefs = Preferences()  # 07:30 every day
    leave, _ = next_departure(prefs, datetime(2026, 3, 28, 12, 0, tzinfo=UTC))
    assert leave == datetime(2026, 3, 29, 6, 30, tzinfo=UTC)  # clocks went forward at 01:00


def test_an_unplugged_car_is_not_planned_and_a_plugged_one_is():
    problem, _ = build_problem(_inputs())
    assert problem.evs == ()
    plugged = {"EV": DeviceState(at_utc=MONDAY_5PM, power_kw=0.0, soc=0.4, plugged_in=True)}
    problem, extensions = build_problem(_inputs(states=plugged))
    (ev,) = problem.evs
    assert ev.sessions[0].arrival_soc == 0.4
    assert ev.sessions[0].target_soc == 0.8
    assert any(isinstance(e, PeakHoursRule) for e in extensions)


def test_a_car_leaving_in_the_current_slot_gets_its_energy_in_the_minutes_left():
    # planned at 17:05 for a trip at 17:20: 15 of the 17:00 slot's 30 minutes are left
    now = MONDAY_5PM + timedelta(minutes=5)
    leave = MONDAY_5PM + timedelta(minutes=20)
    prefs = Preferences(ev_next_trip=NextTrip(leave_at=leave, target_soc=0.5))
    plugged = {"EV": DeviceState(at_utc=now, power_kw=0.0, soc=0.45, plugged_in=True)}
    problem, extensions = build_problem(_inputs(now=now, prefs=prefs, states=plugged))
    (session,) = problem.evs[0].sessions
    assert (session.arrival_utc, session.departure_utc) == (now, leave)
    plan = optimise(problem, extensions=extensions)
    first = plan.schedule.iloc[0]
    # the slot's average power over half the slot: the charger is told twice that, its maximum
    assert first["EV.power_kw"] == pytest.approx(problem.evs[0].max_charge_kw / 2, rel=1e-6)
    assert first["EV.setpoint_kw"] == pytest.approx(problem.evs[0].max_charge_kw, rel=1e-6)


def test_the_battery_keeps_the_consumers_reserve():
    prefs = Preferences(battery_reserve_soc=0.4)
    state = {"Battery": DeviceState(at_utc=MONDAY_5PM, power_kw=0.0, soc=0.6)}
    problem, _ = build_problem(_inputs(prefs=prefs, states=state))
    assert problem.batteries[0].min_soc == 0.4
    plan = optimise(problem)
    assert plan.schedule["Battery.soc_pct"].min() >= 40.0 - 1e-6


def test_default_peak_hours_are_weekday_08_11_and_16_22_local():
    grid = TimeGrid.starting_at(datetime(2026, 12, 4, 0, 0, tzinfo=UTC), horizon_hours=48)  # Fri
    local = grid.local_index()
    hours = {(local[t].weekday(), local[t].hour) for t in peak_slots(grid)}
    assert (4, 8) in hours
    assert (4, 21) in hours
    assert (4, 11) not in hours
    assert not any(day == 5 for day, _ in hours)  # Saturday is off-peak all day


def test_the_car_avoids_default_peak_hours_unless_the_consumer_allows_them():
    arrive = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # Monday noon; leaves 07:30 Tuesday
    plugged = {"EV": DeviceState(at_utc=arrive, power_kw=0.0, soc=0.3, plugged_in=True)}
    problem, ext = build_problem(_inputs(now=arrive, states=plugged))
    plan = optimise(problem, extensions=ext)
    ev = plan.schedule["EV.power_kw"]
    in_peak = ev.iloc[list(peak_slots(problem.grid))]
    assert in_peak.sum() == pytest.approx(0.0, abs=1e-6)
    assert plan.violations == ()
    prefs = Preferences(ev_allow_peak_charging=True)
    _, ext = build_problem(_inputs(now=arrive, states=plugged, prefs=prefs))
    assert not any(isinstance(e, PeakHoursRule) for e in ext)


def test_a_paused_heat_pump_is_planned_off_until_the_pause_ends():
    until = pd.Timestamp(MONDAY_5PM) + pd.Timedelta(hours=2)
    problem, ext = build_problem(_inputs(paused_until={"Heat pump": until.to_pydatetime()}))
    assert any(isinstance(e, PauseRule) for e in ext)
    plan = optimise(problem, extensions=ext)
    assert plan.schedule["Heat pump.power_kw"].iloc[:4].sum() == pytest.approx(0.0, abs=1e-6)
    assert plan.schedule["Heat pump.power_kw"].iloc[4:].sum() > 0.0


@pytest.mark.parametrize("soc", [0.25, 0.05])  # below the reserve; below the device's 10 % too
def test_a_battery_below_its_reserve_is_planned_from_its_true_soc_and_recovers(soc):
    prefs = Preferences(battery_reserve_soc=0.4)
    state = {"Battery": DeviceState(at_utc=MONDAY_5PM, power_kw=0.0, soc=soc)}
    problem, _ = build_problem(_inputs(prefs=prefs, states=state))
    bat = problem.batteries[0]
    assert bat.initial_soc == soc
    assert bat.min_soc == 0.4
    plan = optimise(problem)
    soc_pct = plan.schedule["Battery.soc_pct"]
    assert soc_pct.min() >= 100 * soc - 1e-6  # never planned with energy it does not have
    assert soc_pct.iloc[4:].min() >= 40.0 - 1e-6  # back at the reserve within two hours
    (reason,) = [v for v in plan.violations if v.wish is Wish.BATTERY_BOUNDS]
    assert "recovers its reserve" in reason.message


def test_a_plan_made_inside_a_slot_runs_the_battery_and_heat_pump_from_now():
    now = MONDAY_5PM + timedelta(minutes=7)
    full = {"Battery": DeviceState(at_utc=now, power_kw=0.0, soc=0.9)}  # it discharges at the peak
    problem, _ = build_problem(_inputs(now=now, states=full))
    assert problem.plan_start_utc == now
    assert problem.first_slot_fraction == pytest.approx(23 / 30)
    plan = optimise(problem)
    first = plan.schedule.iloc[0]
    for name in ("Battery", "Heat pump"):
        # the slot's average over 23 minutes of running; the device is told the running power
        assert first[f"{name}.setpoint_kw"] == pytest.approx(first[f"{name}.power_kw"] * 30 / 23)
    assert first["Battery.power_kw"] < -1.0
    assert abs(first["Battery.setpoint_kw"]) <= problem.batteries[0].max_discharge_kw + 1e-6
    powers = planned_powers(plan.schedule, demo_home_spec(), now)
    assert powers["Battery"] == pytest.approx(first["Battery.setpoint_kw"])


def test_the_plan_counts_the_ev_delay_and_ramp_only_when_the_safeguards_are_on():
    plugged = {"EV": DeviceState(at_utc=MONDAY_5PM, power_kw=3.2, soc=0.4, plugged_in=True)}
    off, _ = build_problem(_inputs(states=plugged))
    assert off.ev_dispatch_lag == EvDispatchLag()  # none given: the bound's way, as before
    bound, _ = build_problem(_inputs(states=plugged, safeguards=Safeguards.off()))
    assert bound.ev_dispatch_lag == EvDispatchLag()
    settings = Settings(ev_random_delay_max_s=900, ev_ramp_kw_per_min=1.5)
    on, _ = build_problem(_inputs(states=plugged, safeguards=Safeguards.of(settings)))
    # half the delay's bound in expectation (the whole for the target), the EV ramp rate,
    # from the power it runs at now
    assert on.ev_dispatch_lag == EvDispatchLag(
        rise_delay_s=450, ramp_kw_per_min=1.5, longest_delay_s=900
    )
    assert on.evs[0].charging_kw == 3.2


def test_a_device_reporting_less_than_entered_is_planned_with_the_device_s_limits():
    plugged = {"EV": DeviceState(at_utc=MONDAY_5PM, power_kw=0.0, soc=0.2, plugged_in=True)}
    reported = {
        "Battery": DeviceCapabilities(max_charge_kw=3.0, max_discharge_kw=8.0, capacity_kwh=9.5),
        "EV": DeviceCapabilities(max_charge_kw=1.0, phases=1),
        "Heat pump": DeviceCapabilities(max_power_kw=2.5),
        "PV": DeviceCapabilities(max_power_kw=3.5),
    }
    problem, _ = build_problem(_inputs(states=plugged, capabilities=reported))
    (battery,) = problem.batteries
    # the device's lower charge limit and capacity; its higher discharge leaves the consumer's
    assert (battery.max_charge_kw, battery.max_discharge_kw, battery.capacity_kwh) == (
        3.0,
        5.0,
        9.5,
    )
    (ev,) = problem.evs
    assert (ev.max_charge_kw, ev.min_charge_kw) == (1.0, 1.0)  # the minimum kept below it
    assert problem.heat_pumps[0].max_power_kw == 2.5
    assert max(problem.pv[0].forecast_kw) <= 3.5
    plan = optimise(problem)
    assert plan.schedule["Battery.power_kw"].max() <= 3.0 + 1e-6
    assert plan.schedule["EV.power_kw"].max() <= 1.0 + 1e-6


def test_without_reported_capabilities_the_consumer_s_spec_is_planned():
    problem, _ = build_problem(_inputs(capabilities={"Battery": DeviceCapabilities()}))
    (battery,) = problem.batteries
    assert (battery.max_charge_kw, battery.capacity_kwh) == (5.0, 10.0)


def test_the_load_s_p90_is_planned_on_only_with_a_cover_and_a_market_that_gives_it():
    grid = TimeGrid.starting_at(MONDAY_5PM, step_minutes=30, horizon_hours=48)
    market = ReplayedMarket().series(grid)
    expected = market["base_load_kw"].to_numpy()
    with_p90 = market.assign(**{BASE_LOAD_P90: expected * 1.5})
    off, _ = build_problem(_inputs(market=with_p90))
    assert off.load_spread_cover == 0.0
    assert off.base_load_p90_kw is None
    no_p90, _ = build_problem(_inputs(load_spread_cover=0.5))  # the demo market has none
    assert no_p90.base_load == pytest.approx(expected)
    on, _ = build_problem(_inputs(market=with_p90, load_spread_cover=0.5))
    assert on.dear_slots.any()
    assert on.base_load[on.dear_slots] == pytest.approx(expected[on.dear_slots] * 1.25)
    assert on.base_load[~on.dear_slots] == pytest.approx(expected[~on.dear_slots])
    assert on.expected_base_load == pytest.approx(expected)


def _runs(on: list[bool]) -> list[tuple[bool, int, int]]:
    """(on, first slot, length) of each run of equal modes."""
    runs: list[tuple[bool, int, int]] = []
    for t, mode in enumerate(on):
        if runs and runs[-1][0] == mode:
            runs[-1] = (mode, runs[-1][1], runs[-1][2] + 1)
        else:
            runs.append((mode, t, 1))
    return runs


def test_an_on_off_heat_pump_is_planned_at_full_power_or_off_with_its_minimum_run_and_pause():
    now = MONDAY_5PM + timedelta(minutes=7)  # the first slot runs 23 of its 30 minutes
    on_off = HeatPumpSpec(
        name="Heat pump",
        max_power_kw=3.0,
        heat_loss_kw_per_k=0.18,
        thermal_capacity_kwh_per_k=9.0,
        modulating=False,
        min_run_minutes=60,
        min_off_minutes=60,
    )
    home = demo_home_spec().model_copy(update={"devices": [on_off]})
    grid = TimeGrid.starting_at(now, step_minutes=30, horizon_hours=12)
    state = {"Heat pump": DeviceState(at_utc=now, power_kw=0.0, temperature_c=19.5)}
    inputs = PlanInputs(
        home=home,
        preferences=Preferences(),
        states=state,
        market=ReplayedMarket().series(grid),
        grid=grid,
        now_utc=now,
    )
    problem, ext = build_problem(inputs)
    (hp,) = problem.heat_pumps
    assert (hp.modulating, hp.min_run_minutes, hp.min_off_minutes) == (False, 60, 60)
    plan = optimise(problem, extensions=ext)
    assert plan.solver.status is not PlanStatus.FALLBACK, plan.solver.message
    power = plan.schedule["Heat pump.power_kw"].to_numpy()
    full = 3.0 * problem.running_fraction
    on = [bool(p > 1e-6) for p in power]
    assert any(on)
    assert not all(on)
    for t, p in enumerate(power):
        assert p == pytest.approx(full[t] if on[t] else 0.0, abs=1e-6), t
    runs = _runs(on)
    # a run or pause from the plan's start or cut by its end is not held (nothing known of it)
    for mode, first, length in runs[1:-1]:
        assert length >= 2, (mode, first, length)


def test_a_modulating_heat_pump_s_minimum_power_is_planned():
    (hp_spec,) = [d for d in demo_home_spec().devices if isinstance(d, HeatPumpSpec)]
    home = demo_home_spec().model_copy(
        update={"devices": [hp_spec.model_copy(update={"min_power_kw": 1.2})]}
    )
    problem, _ = build_problem(replace(_inputs(), home=home))
    (hp,) = problem.heat_pumps
    assert (hp.min_power_kw, hp.modulating, hp.min_run_minutes) == (1.2, True, 0.0)
