"""Invariants on random homes (hypothesis): physics holds and the plan tells the truth."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimiser import (
    Battery,
    Building,
    CopCurve,
    ElectricVehicle,
    HeatPump,
    PlanStatus,
    PlugInSession,
    Problem,
    PvArray,
    TimeGrid,
    Wish,
    optimise,
)

from .conftest import START

N = 16


@st.composite
def homes(draw) -> Problem:
    step = draw(st.sampled_from([30, 60]))
    grid = TimeGrid(start_utc=START, step_minutes=step, n_steps=N)
    prices = draw(st.lists(st.floats(-0.1, 0.6), min_size=N, max_size=N))
    export = [p * draw(st.floats(0.0, 1.2)) for p in prices]
    load = draw(st.lists(st.floats(0.0, 2.0), min_size=N, max_size=N))
    kw = {}
    if draw(st.booleans()):
        kw["pv"] = (
            PvArray(forecast_kw=draw(st.lists(st.floats(0.0, 5.0), min_size=N, max_size=N))),
        )
    if draw(st.booleans()):
        lo = draw(st.floats(0.0, 0.3))
        kw["batteries"] = (
            Battery(
                capacity_kwh=draw(st.floats(2.0, 15.0)),
                initial_soc=draw(st.floats(lo, 1.0)),
                min_soc=lo,
                max_charge_kw=draw(st.floats(0.5, 5.0)),
                max_discharge_kw=draw(st.floats(0.5, 5.0)),
                charge_efficiency=draw(st.floats(0.85, 1.0)),
                discharge_efficiency=draw(st.floats(0.85, 1.0)),
                target_soc_end=draw(st.one_of(st.none(), st.floats(0.0, 1.0))),
                allow_grid_charging=draw(st.booleans()),
                allow_export=draw(st.booleans()),
            ),
        )
    if draw(st.booleans()):
        a = draw(st.integers(0, N - 2))
        d = draw(st.integers(a + 1, N + 4))
        kw["evs"] = (
            ElectricVehicle(
                battery_capacity_kwh=draw(st.floats(20.0, 80.0)),
                min_charge_kw=draw(st.sampled_from([0.0, 1.4])),
                max_charge_kw=draw(st.sampled_from([3.6, 7.4])),
                v2g_max_discharge_kw=draw(st.sampled_from([0.0, 0.0, 5.0])),
                sessions=(
                    PlugInSession(
                        arrival_utc=START + timedelta(minutes=step * a),
                        departure_utc=START
                        + timedelta(minutes=step * d - draw(st.sampled_from([0, 10]))),
                        arrival_soc=draw(st.floats(0.1, 0.6)),
                        target_soc=draw(st.floats(0.5, 1.0)),
                    ),
                ),
            ),
        )
    if draw(st.booleans()):
        kw["heat_pumps"] = (
            HeatPump(
                max_power_kw=draw(st.floats(1.0, 4.0)),
                cop=CopCurve(outdoor_temperature_c=(-5.0, 15.0), cop=(2.0, 4.0)),
                building=Building(
                    heat_loss_kw_per_k=draw(st.floats(0.1, 0.3)),
                    thermal_capacity_kwh_per_k=draw(st.floats(3.0, 12.0)),
                    initial_indoor_temperature_c=draw(st.floats(17.0, 22.0)),
                ),
                comfort_min_c=19.0,
                comfort_max_c=22.0,
            ),
        )
        kw["outdoor_temperature_c"] = draw(st.floats(-5.0, 12.0))
    return Problem(
        grid=grid,
        import_price_gbp_per_kwh=prices,
        export_price_gbp_per_kwh=export,
        base_load_kw=load,
        carbon_intensity_g_per_kwh=200.0,
        carbon_weight_gbp_per_kg=draw(st.sampled_from([0.0, 0.25])),
        export_limit_kw=draw(st.sampled_from([0.0, 3.68, 10.0])),
        **kw,
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(homes())
def test_random_homes_obey_physics_and_report_truthfully(problem: Problem):
    plan = optimise(problem)
    assert plan.status is PlanStatus.OPTIMAL
    s, dt = plan.schedule, problem.grid.step_hours

    # The model's objective equals the cost recomputed by replaying the dispatch.
    assert plan.solver.objective_gbp == pytest.approx(plan.totals.objective_gbp, abs=1e-4)
    # Hard limits hold, and import and export never coincide.
    assert (s["grid_import_kw"] <= problem.import_limit_kw + 1e-6).all()
    assert (s["grid_export_kw"] <= problem.export_limit_kw + 1e-6).all()
    assert ((s["grid_import_kw"] > 1e-6) & (s["grid_export_kw"] > 1e-6)).sum() == 0
    # Totals are the sums of the slots.
    assert plan.totals.import_kwh == pytest.approx(dt * s["grid_import_kw"].sum())
    assert plan.totals.net_energy_cost_gbp == pytest.approx(s["cost_gbp"].sum())
    assert plan.totals.carbon_kg == pytest.approx(s["carbon_kg"].sum())

    for bat in problem.batteries:
        soc = s[f"{bat.name}.soc_pct"]
        assert soc.min() >= 100 * bat.min_soc - 1e-4
        assert soc.max() <= 100 * bat.max_soc + 1e-4
        d = plan.dispatch.batteries[bat.name]
        assert ((d.charge_kw > 1e-5) & (d.discharge_kw > 1e-5)).sum() == 0
        if not bat.allow_export:  # export only from PV and V2G
            sources = sum(
                (-s[f"{a.name}.power_kw"]).clip(lower=0) for a in (*problem.pv, *problem.evs)
            )
            assert (s["grid_export_kw"] <= sources + 1e-5).all()

    for ev in problem.evs:
        power = s[f"{ev.name}.power_kw"].to_numpy()
        sess = ev.sessions[0]
        plugged = np.array(problem.grid.overlap_fractions(sess.arrival_utc, sess.departure_utc))
        assert (power <= ev.max_charge_kw * plugged + 1e-6).all()
        assert (np.abs(power[plugged == 0]) < 1e-9).all()
        charging = power > 1e-6
        assert (power[charging] >= ev.min_charge_kw * plugged[charging] - 1e-5).all()
        soc = s[f"{ev.name}.soc_pct"].to_numpy()
        assert np.nanmax(soc) <= 100 + 1e-4
        if problem.grid.hours_from_start(sess.departure_utc) <= N * dt:
            last = max(t for t in range(N) if plugged[t] > 0)
            missed = soc[last] < 100 * sess.target_soc - 0.05
            reported = any(v.wish is Wish.EV_TARGET for v in plan.violations)
            assert missed == reported

    for hp in problem.heat_pumps:
        indoor = s[f"{hp.name}.indoor_c"].to_numpy()
        cold = (indoor < 19.0 - 0.05).any()
        assert cold == any(v.wish is Wish.COMFORT and "below" in v.message for v in plan.violations)


def test_a_car_a_few_watt_hours_short_is_paid_for_in_the_replayed_objective():
    """Found by the property above: a car that can reach its target only to 7 Wh (1 h 50 min
    at 7.4 kW) is planned 7 Wh short at 5 GBP/kWh; the replay paid nothing for a shortfall
    below the 0.01 kWh it reports, so the objectives differed by 0.036 GBP."""
    grid = TimeGrid(start_utc=START, step_minutes=30, n_steps=16)
    ev = ElectricVehicle(
        battery_capacity_kwh=34.90625,
        max_charge_kw=7.4,
        sessions=(
            PlugInSession(
                arrival_utc=START,
                departure_utc=START + timedelta(minutes=110),
                arrival_soc=0.15,
                target_soc=0.5,
            ),
        ),
    )
    plan = optimise(
        Problem(
            grid=grid,
            import_price_gbp_per_kwh=0.0,
            export_price_gbp_per_kwh=0.0,
            base_load_kw=0.0,
            carbon_intensity_g_per_kwh=200.0,
            evs=(ev,),
        )
    )
    assert plan.solver.objective_gbp == pytest.approx(0.036, abs=1e-3)
    assert plan.totals.objective_gbp == pytest.approx(plan.solver.objective_gbp, abs=1e-4)
    assert plan.totals.ev_shortfall_kwh == 0  # too small to report as a missed wish
