"""Parameter sweeps: the grid, the checks, the Pareto front and abatement costs by hand, and short
sweeps on the demo home (hourly slots, a 24 h horizon) whose direction is known."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from hems.backtest import BacktestConfig
from hems.backtest.forecast_market import DEFAULT_PV_ERROR, HistoricalForecast
from hems.backtest.sweeps import (
    abatement_costs,
    check_point,
    configure,
    parameter_grid,
    pareto_efficient,
    run_point,
    run_sweep,
)
from tests.hems.backtest.synthetic import home_data

SHORT = BacktestConfig(days=1, slot_minutes=60, horizon_hours=24)
TIMING = ["planning_s", "plans_per_s", "wall_s"]


# -- the Pareto front and abatement costs, checked by hand -----------------------------------


def test_the_pareto_front_of_a_known_set():
    # bill, carbon: A and B and E trade off; C is dominated by B; D by A; F equals E
    frame = pd.DataFrame(
        {
            "bill_gbp": [1.0, 2.0, 2.5, 1.5, 4.0, 4.0],
            "carbon_kg": [10.0, 6.0, 7.0, 10.0, 3.0, 3.0],
        },
        index=list("ABCDEF"),
    )
    front = pareto_efficient(frame)
    assert front.name == "pareto"
    assert front[front].index.tolist() == ["A", "B", "E", "F"]


def test_a_point_worse_in_one_objective_and_equal_in_the_other_is_dominated():
    frame = pd.DataFrame({"bill_gbp": [1.0, 1.0], "carbon_kg": [2.0, 2.5]})
    assert pareto_efficient(frame).tolist() == [True, False]


def test_the_pareto_front_takes_any_objectives():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [3.0, 2.0, 1.0], "c": [0.0, 5.0, 0.0]})
    assert pareto_efficient(frame, ["a", "b"]).tolist() == [True, True, True]
    assert pareto_efficient(frame, ["a", "b", "c"]).tolist() == [True, True, True]
    assert pareto_efficient(frame, ["a", "c"]).tolist() == [True, False, False]


def test_abatement_costs_along_the_front():
    frame = pd.DataFrame(
        {"bill_gbp": [1.0, 2.0, 2.5, 4.0], "carbon_kg": [10.0, 6.0, 7.0, 3.0]}, index=list("ABCD")
    )
    costs = abatement_costs(frame)
    assert costs.index.tolist() == ["A", "B", "D"]  # C is dominated
    assert np.isnan(costs.loc["A", "gbp_per_kg_avoided"])
    # A -> B: 1 GBP more for 4 kg less; B -> D: 2 GBP more for 3 kg less
    assert costs.loc["B", "gbp_per_kg_avoided"] == pytest.approx(0.25)
    assert costs.loc["D", "gbp_per_kg_avoided"] == pytest.approx(2 / 3)
    assert costs.loc["B", "pence_per_g_avoided"] == pytest.approx(0.025)


def test_the_pareto_front_refuses_missing_columns_and_values():
    with pytest.raises(ValueError, match="no column 'carbon_kg'"):
        pareto_efficient(pd.DataFrame({"bill_gbp": [1.0]}))
    with pytest.raises(ValueError, match="missing values"):
        pareto_efficient(pd.DataFrame({"bill_gbp": [1.0, np.nan], "carbon_kg": [1.0, 2.0]}))


# -- the grid and the checks ----------------------------------------------------------------


def test_the_grid_is_every_combination():
    points = parameter_grid({"carbon_preference": [0, 1], "noise": [0.0, 0.1, 0.2]})
    assert len(points) == 6
    assert points[0] == {"carbon_preference": 0, "noise": 0.0}
    assert points[-1] == {"carbon_preference": 1, "noise": 0.2}


@pytest.mark.parametrize(
    ("point", "message"),
    [
        ({"carbon_weight": 0.1}, "unknown sweep parameter 'carbon_weight'"),
        ({"carbon_preference": 1.5}, r"carbon_preference must be within \[0.0, 1.0\], got 1.5"),
        ({"battery_reserve_soc": -0.1}, "battery_reserve_soc must be within"),
        ({"battery_reserve_soc": 0.95}, "battery_reserve_soc must be within"),
        ({"noise": float("nan")}, "noise must be finite"),
        ({"noise": -0.1}, "noise must be within"),
        ({"comfort_band_k": "wide"}, "comfort_band_k must be a number"),
        ({"comfort_band_k": True}, "comfort_band_k must be a number"),
        ({}, "at least one parameter"),
    ],
)
def test_bad_points_are_refused_with_the_parameter_named(point, message):
    with pytest.raises(ValueError, match=message):
        check_point(point)


def test_bad_sweeps_are_refused_before_anything_runs():
    with pytest.raises(ValueError, match="'noise' has no values"):
        run_sweep(SHORT, {"noise": []})
    with pytest.raises(ValueError, match="at least one parameter axis"):
        run_sweep(SHORT, {})
    with pytest.raises(ValueError, match="same parameters"):
        run_sweep(SHORT, [{"noise": 0.0}, {"carbon_preference": 0.5}])
    with pytest.raises(ValueError, match="workers must be at least 1"):
        run_sweep(SHORT, {"noise": [0.0]}, workers=0)
    with pytest.raises(ValueError, match="'weekly' is not a valid Cadence"):
        run_sweep(SHORT, {"noise": [0.0]}, cadence="weekly")
    with pytest.raises(ValueError, match=r"comfort maximum at 35\.0 °C"):
        configure(SHORT, {"comfort_band_k": 15.0})  # the highest minimum is 20 °C


def test_a_point_sets_the_preferences_and_the_noise_without_touching_the_base_config():
    chosen = configure(
        SHORT,
        {"carbon_preference": 0.7, "battery_reserve_soc": 0.4, "comfort_band_k": 2.5, "noise": 0},
    )
    assert chosen.preferences.carbon_preference == 0.7
    assert chosen.preferences.battery_reserve_soc == 0.4
    assert chosen.preferences.comfort_max_c == 22.5  # 20 °C by day + 2.5 K
    assert chosen.noise == 0.0
    assert chosen.days == SHORT.days
    assert SHORT.preferences.carbon_preference == 0.2
    assert SHORT.noise == 0.1


def test_the_pv_forecast_error_scales_the_weather_forecasts_error_on_real_data():
    real = replace(SHORT, market=HistoricalForecast(home_data(), pv="weather"))
    doubled = configure(real, {"pv_forecast_error": 2.0}).market
    assert isinstance(doubled, HistoricalForecast)
    assert doubled.pv_error == pytest.approx(tuple(2 * e for e in DEFAULT_PV_ERROR))
    perfect = configure(real, {"pv_forecast_error": 0.0}).market
    assert isinstance(perfect, HistoricalForecast)
    assert perfect.pv_error == (0.0, 0.0)
    # the demo market has no weather PV forecast to degrade: said, not ignored
    with pytest.raises(ValueError, match="pv='weather'"):
        configure(SHORT, {"pv_forecast_error": 1.0})
    history = replace(SHORT, market=HistoricalForecast(home_data(), pv="history"))
    with pytest.raises(ValueError, match="pv='weather'"):
        configure(history, {"pv_forecast_error": 1.0})


# -- short sweeps on the demo home ----------------------------------------------------------


def test_a_carbon_weight_buys_less_carbon_at_a_higher_bill():
    # Two days: over a single day the bill and carbon of the period also depend on how much
    # energy the plan leaves in the car and the battery at the end (not a KPI), which hides the
    # trade-off on the demo sample.
    config = BacktestConfig(days=2, slot_minutes=60, horizon_hours=24)
    frame = run_sweep(config, {"carbon_preference": [0.0, 1.0]})
    assert frame["carbon_weight_gbp_per_kg"].tolist() == [0.0, 0.5]
    cheap, green = frame.iloc[0], frame.iloc[1]
    assert green["carbon_kg"] < cheap["carbon_kg"] - 1.0, frame
    assert green["bill_gbp"] > cheap["bill_gbp"], frame
    assert pareto_efficient(frame).all()  # a trade-off: neither point dominates
    costs = abatement_costs(frame)
    assert costs["gbp_per_kg_avoided"].iloc[1] > 0


@pytest.fixture(scope="module")
def reserve_sweep():
    return run_sweep(SHORT, {"battery_reserve_soc": [0.1, 0.9]}, strategies=["planner", "naive"])


def test_a_high_battery_reserve_costs_the_planner_money(reserve_sweep):
    frame = reserve_sweep.set_index(["battery_reserve_soc", "strategy"])
    assert frame.loc[(0.9, "planner"), "bill_gbp"] > frame.loc[(0.1, "planner"), "bill_gbp"] + 0.1
    # the naive home leaves its battery idle: the reserve changes nothing there
    assert frame.loc[(0.9, "naive"), "bill_gbp"] == pytest.approx(
        frame.loc[(0.1, "naive"), "bill_gbp"]
    )
    assert list(reserve_sweep.columns[:3]) == [
        "battery_reserve_soc",
        "strategy",
        "carbon_weight_gbp_per_kg",
    ]


def test_a_sweep_on_an_executor_gives_the_same_rows(reserve_sweep):
    done = []
    with ThreadPoolExecutor(max_workers=1) as pool:
        frame = run_sweep(
            SHORT,
            {"battery_reserve_soc": [0.1, 0.9]},
            strategies=["planner", "naive"],
            executor=pool,
            progress=lambda: done.append(1),
        )
    assert len(done) == 2
    pd.testing.assert_frame_equal(frame.drop(columns=TIMING), reserve_sweep.drop(columns=TIMING))


def test_a_sweep_in_worker_processes_gives_the_same_rows(reserve_sweep):
    frame = run_sweep(
        SHORT, [{"battery_reserve_soc": 0.9}], strategies=["planner", "naive"], workers=2
    )
    expected = reserve_sweep[reserve_sweep["battery_reserve_soc"] == 0.9].reset_index(drop=True)
    pd.testing.assert_frame_equal(frame.drop(columns=TIMING), expected.drop(columns=TIMING))


def test_one_point_is_one_row_per_strategy():
    frame = run_point(
        BacktestConfig(days=1, slot_minutes=60, horizon_hours=12),
        {"noise": 0.0},
        ["naive", "ev_cheap_window"],
    )
    assert frame["strategy"].tolist() == ["naive", "ev_cheap_window"]
    assert (frame["noise"] == 0.0).all()
    assert {"bill_gbp", "carbon_kg", "comfort_deficit_kelvin_hours"} <= set(frame.columns)
