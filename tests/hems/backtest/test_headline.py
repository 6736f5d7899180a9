"""The backtest's headline: the planner's saving against the best baseline and its share of
the perfect-foresight saving (issue 28), in words an analyst reads at a glance."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from hems.backtest.headline import capture_ratio, headlines, home_headline, penalised_costs


def test_the_headline_names_the_saving_and_the_capture_ratio():
    bills = {"planner": 9.0, "perfect_foresight": 8.0, "naive": 12.0, "battery_timer": 10.0}
    assert capture_ratio(bills) == (pytest.approx(0.5), "battery_timer")
    assert home_headline(bills) == (
        "the planner's bill £9.00 is £1.00 less than the best baseline's (battery_timer, "
        "£10.00, 10.0 % less); it captures 50.0 % of the perfect-foresight saving (£2.00)"
    )


def test_a_credit_keeps_its_sign_and_a_loss_says_more():
    text = home_headline({"planner": -0.5, "naive": -0.9})
    assert text.startswith("the planner's bill -£0.50 is £0.40 more than the best baseline's")
    assert "(naive, -£0.90)" in text
    assert "add perfect_foresight" in text


def test_no_room_for_saving_and_no_planner_are_said():
    bills = {"planner": 1.0, "perfect_foresight": 2.0, "naive": 1.5}
    assert math.isnan(capture_ratio(bills)[0])
    assert home_headline(bills).endswith("perfect foresight saves nothing over naive")
    assert home_headline({"naive": 1.0}).startswith("no headline")


def test_one_line_per_home_named_only_when_there_are_several():
    summary = pd.DataFrame(
        {
            "strategy": ["planner", "naive", "planner", "naive"],
            "home": ["0:A", "0:A", "1:B", "1:B"],
            "bill_gbp": [1.0, 2.0, 3.0, 2.5],
        }
    ).set_index("strategy")
    lines = headlines(summary)
    assert [line.split(":")[0] for line in lines] == ["0", "1"]
    assert lines[0].startswith("0:A: the planner's bill £1.00 is £1.00 less")
    assert lines[1].startswith("1:B: the planner's bill £3.00 is £0.50 more")
    assert headlines(summary.iloc[:2])[0].startswith("The planner's bill £1.00")


def test_the_penalised_cost_prices_comfort_and_cars_as_the_objective_does():
    # a bound that saves on the bill by leaving the house cold is no bound of the planner's
    # objective: on the bill it captures 50 %, on the penalised cost the planner beats it
    summary = pd.DataFrame(
        {
            "bill_gbp": [9.0, 8.0, 10.0],
            "comfort_deficit_kelvin_hours": [0.1, 2.0, 3.0],
            "ev_short_kwh": [0.0, 0.1, 0.2],
        },
        index=pd.Index(["planner", "perfect_foresight", "battery_timer"], name="strategy"),
    )
    costs = penalised_costs(summary)
    assert costs == pytest.approx(
        {"planner": 9.1, "perfect_foresight": 8.0 + 2.0 + 0.5, "battery_timer": 14.0}
    )
    assert capture_ratio({n: float(b) for n, b in summary["bill_gbp"].items()})[0] == 0.5
    assert capture_ratio(costs)[0] > 1.0
