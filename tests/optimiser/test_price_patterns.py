"""Ten-slot price patterns with schedules and objectives a person can check by hand."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from optimiser import (
    Battery,
    Building,
    CopCurve,
    DsrKind,
    DsrRequest,
    HeatPump,
    PlanStatus,
    Problem,
    PvArray,
    TimeGrid,
    optimise,
)

from .conftest import START, plugged_ev


def test_battery_buys_in_the_two_cheapest_slots_and_sells_in_the_dearest(hourly_grid: TimeGrid):
    prices = [0.20, 0.20, 0.05, 0.20, 0.04, 0.20, 0.20, 0.50, 0.20, 0.20]
    problem = Problem(
        grid=hourly_grid,
        import_price_gbp_per_kwh=prices,
        export_price_gbp_per_kwh=prices,
        export_limit_kw=5.0,
        batteries=(
            Battery(
                capacity_kwh=2.0,
                initial_soc=0.0,
                max_charge_kw=1.0,
                max_discharge_kw=2.0,
                charge_efficiency=1.0,
                discharge_efficiency=1.0,
                degradation_gbp_per_kwh=0.01,  # rules out zero-profit cycles at 20p
            ),
        ),
    )
    plan = optimise(problem)
    assert plan.status is PlanStatus.OPTIMAL
    power = plan.schedule["Battery.power_kw"].to_numpy()
    np.testing.assert_allclose(power, [0, 0, 1, 0, 1, 0, 0, -2, 0, 0], atol=1e-6)
    # 1 kWh at 5p + 1 kWh at 4p - 2 kWh sold at 50p + 2 kWh of wear at 1p
    assert plan.totals.objective_gbp == pytest.approx(0.05 + 0.04 - 1.00 + 0.02, abs=1e-6)
    assert plan.solver.objective_gbp == pytest.approx(-0.89, abs=1e-6)
    assert plan.totals.degradation_gbp == pytest.approx(0.02, abs=1e-9)
    np.testing.assert_allclose(
        plan.schedule["Battery.soc_pct"].to_numpy(),
        [0, 0, 50, 50, 100, 100, 100, 0, 0, 0],
        atol=1e-4,
    )


def test_ev_charges_in_cheapest_slots_and_respects_the_charger_minimum(hourly_grid: TimeGrid):
    # Needs 8 kWh. Without a minimum the cheapest plan is 7.4 kWh at 5p and 0.6 kWh at 10p;
    # with a 1.4 kW minimum the best is 6.6 kWh at 5p and 1.4 kWh at 10p (47p, not 43p).
    prices = [0.30, 0.10, 0.25, 0.05, 0.20, 0.15, 0.40, 0.35, 0.30, 0.30]
    ev = plugged_ev(
        arrive_h=0,
        leave_h=8,
        arrival_soc=0.5,
        target_soc=0.6,
        capacity_kwh=80.0,
        min_charge_kw=1.4,
        max_charge_kw=7.4,
    )
    plan = optimise(Problem(grid=hourly_grid, import_price_gbp_per_kwh=prices, evs=(ev,)))
    power = plan.schedule["EV.power_kw"].to_numpy()
    np.testing.assert_allclose(power, [0, 1.4, 0, 6.6, 0, 0, 0, 0, 0, 0], atol=1e-6)
    assert plan.totals.objective_gbp == pytest.approx(0.47, abs=1e-6)
    assert not plan.violations
    assert plan.schedule["EV.soc_pct"].iloc[7] == pytest.approx(60.0)
    assert np.isnan(plan.schedule["EV.soc_pct"].iloc[9])  # unplugged


def test_heat_pump_preheats_before_a_price_peak_within_the_comfort_band():
    grid = TimeGrid(start_utc=START, step_minutes=60, n_steps=10)
    prices = [0.10] * 6 + [0.60] * 3 + [0.10]
    hp = HeatPump(
        max_power_kw=3.0,
        cop=CopCurve(outdoor_temperature_c=(0.0, 10.0), cop=(3.0, 3.0)),
        building=Building(
            heat_loss_kw_per_k=0.15,
            thermal_capacity_kwh_per_k=6.0,
            initial_indoor_temperature_c=20.0,
        ),
        comfort_min_c=20.0,
        comfort_max_c=22.0,
    )
    problem = Problem(
        grid=grid, import_price_gbp_per_kwh=prices, outdoor_temperature_c=5.0, heat_pumps=(hp,)
    )
    plan = optimise(problem)
    s = plan.schedule
    indoor = s["Heat pump.indoor_c"].to_numpy()
    power = s["Heat pump.power_kw"].to_numpy()
    assert not plan.violations
    assert indoor.min() >= 20.0 - 1e-6
    assert indoor.max() <= 22.0 + 1e-6
    assert power[6:9].sum() == pytest.approx(0.0, abs=1e-6)  # off through the peak
    assert indoor[5] > 21.0  # stored heat before the peak
    # Holding 20 °C costs 0.15 kW/K * 15 K / 3 = 0.75 kW; pre-heating buys the peak's heat at 10p.
    flat = optimise(
        Problem(
            grid=grid,
            import_price_gbp_per_kwh=[0.10] * 10,
            outdoor_temperature_c=5.0,
            heat_pumps=(hp,),
        )
    )
    assert flat.schedule["Heat pump.power_kw"].to_numpy()[:9] == pytest.approx([0.75] * 9, abs=1e-6)


def test_pv_is_curtailed_at_a_negative_export_price(hourly_grid: TimeGrid):
    export = [0.05] * 10
    export[4] = -0.05
    problem = Problem(
        grid=hourly_grid,
        import_price_gbp_per_kwh=0.25,
        export_price_gbp_per_kwh=export,
        base_load_kw=0.5,
        pv=(PvArray(forecast_kw=3.0),),
    )
    plan = optimise(problem)
    s = plan.schedule
    assert s["PV.power_kw"].iloc[4] == pytest.approx(-0.5)
    assert s["PV.curtailed_kw"].iloc[4] == pytest.approx(2.5)
    assert s["grid_export_kw"].iloc[4] == pytest.approx(0.0)
    assert s["grid_export_kw"].iloc[3] == pytest.approx(2.5)  # exported when it pays
    assert plan.totals.pv_curtailed_kwh == pytest.approx(2.5)


def test_pv_is_curtailed_to_the_export_limit(hourly_grid: TimeGrid):
    problem = Problem(
        grid=hourly_grid,
        import_price_gbp_per_kwh=0.25,
        export_price_gbp_per_kwh=0.15,
        export_limit_kw=3.68,
        pv=(PvArray(forecast_kw=5.0),),
    )
    plan = optimise(problem)
    np.testing.assert_allclose(plan.schedule["grid_export_kw"], 3.68)
    np.testing.assert_allclose(plan.schedule["PV.curtailed_kw"], 5.0 - 3.68)


def test_a_dsr_import_cap_moves_ev_charging_out_of_the_capped_slots(hourly_grid: TimeGrid):
    prices = [0.30, 0.30, 0.04, 0.05, 0.20, 0.30, 0.30, 0.30, 0.30, 0.30]
    ev = plugged_ev(
        arrive_h=0,
        leave_h=10,
        arrival_soc=0.2,
        target_soc=0.4,
        capacity_kwh=60.0,
        min_charge_kw=0.0,
        max_charge_kw=7.0,
    )
    cap = DsrRequest(
        kind=DsrKind.IMPORT_CAP,
        start_utc=START + timedelta(hours=3),
        end_utc=START + timedelta(hours=4),
        value_kw=2.0,
        penalty_gbp_per_kwh=1.0,
        event_id="evt-1",
    )
    base = Problem(grid=hourly_grid, import_price_gbp_per_kwh=prices, base_load_kw=0.5, evs=(ev,))
    free = optimise(base).schedule["EV.power_kw"].to_numpy()
    np.testing.assert_allclose(free[2:4], [7.0, 5.0], atol=1e-6)  # 12 kWh in the two cheapest slots

    capped = optimise(
        Problem(
            grid=hourly_grid,
            import_price_gbp_per_kwh=prices,
            base_load_kw=0.5,
            evs=(ev,),
            dsr_requests=(cap,),
        )
    )
    power = capped.schedule["EV.power_kw"].to_numpy()
    # 1.5 kW fits under the cap next to the 0.5 kW base load; the rest moves to the 20p slot.
    np.testing.assert_allclose(power, [0, 0, 7.0, 1.5, 3.5, 0, 0, 0, 0, 0], atol=1e-6)
    assert capped.schedule["grid_import_kw"].iloc[3] == pytest.approx(2.0)
    assert capped.totals.dsr_deviation_kwh == pytest.approx(0.0, abs=1e-6)
    assert not capped.violations
