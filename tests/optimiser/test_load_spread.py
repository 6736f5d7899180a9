"""Planning on the load's spread (``Problem.load_spread_cover``): the battery keeps energy for
load above its forecast in dear slots; off, the plan is the one made on the expected load."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kernel.errors import ProblemError
from optimiser import Problem, TimeGrid, optimise

from .conftest import battery

# cheap night, a dear evening peak (slots 6-8), cheap again after it
PRICES = [0.05, 0.05, 0.05, 0.15, 0.15, 0.15, 0.40, 0.40, 0.40, 0.15]
EXPECTED_KW = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 1.0, 1.0, 1.0, 0.5]
P90_KW = [0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 2.0, 2.0, 2.0, 0.8]


def _problem(grid: TimeGrid, **spread: object) -> Problem:
    return Problem(
        grid=grid,
        import_price_gbp_per_kwh=PRICES,
        base_load_kw=EXPECTED_KW,
        batteries=(battery(initial_soc=0.0),),
        **spread,  # type: ignore[arg-type]
    )


def _soc_before_peak_pct(problem: Problem) -> float:
    plan = optimise(problem)
    return float(plan.schedule["Battery.soc_pct"].to_numpy()[5])  # SoC at the end of slot 5


def test_the_battery_keeps_more_energy_ahead_of_the_peak_when_the_p90_is_above_the_forecast(
    hourly_grid: TimeGrid,
) -> None:
    expected = _soc_before_peak_pct(_problem(hourly_grid))
    half = _soc_before_peak_pct(
        _problem(hourly_grid, base_load_p90_kw=P90_KW, load_spread_cover=0.5)
    )
    full = _soc_before_peak_pct(
        _problem(hourly_grid, base_load_p90_kw=P90_KW, load_spread_cover=1.0)
    )
    # the battery (10 kWh, 95 % each way) keeps what the peak and the slot after it take: 3 +
    # 0.5 kWh of expected load, 6 at the peak's P90 (the only dear slots) + 0.5, half way
    # between with half the spread
    assert expected == pytest.approx(10 * 3.5 / 0.95)
    assert half == pytest.approx(10 * 5.0 / 0.95)
    assert full == pytest.approx(10 * 6.5 / 0.95)


def test_the_planned_load_is_the_expected_plus_the_share_of_the_spread(
    hourly_grid: TimeGrid,
) -> None:
    problem = _problem(hourly_grid, base_load_p90_kw=P90_KW, load_spread_cover=0.5)
    dear = np.arange(10) >= 6
    dear[9] = False
    assert problem.dear_slots.tolist() == dear.tolist()  # above the mean price + 1 sd
    planned = np.where(dear, np.add(EXPECTED_KW, P90_KW) / 2, EXPECTED_KW)
    assert problem.base_load == pytest.approx(planned)
    assert problem.expected_base_load == pytest.approx(EXPECTED_KW)
    plan = optimise(problem)
    assert plan.schedule["base_load_kw"].to_numpy() == pytest.approx(problem.base_load)


def test_a_flat_price_has_no_dear_slots_and_plans_on_the_expected_load(
    hourly_grid: TimeGrid,
) -> None:
    flat = Problem(
        grid=hourly_grid,
        import_price_gbp_per_kwh=0.25,
        base_load_kw=EXPECTED_KW,
        base_load_p90_kw=P90_KW,
        load_spread_cover=1.0,
    )
    assert not flat.dear_slots.any()
    assert flat.base_load == pytest.approx(EXPECTED_KW)


def test_the_spread_never_plans_a_load_above_the_import_limit(hourly_grid: TimeGrid) -> None:
    problem = Problem(
        grid=hourly_grid,
        import_price_gbp_per_kwh=[0.1] * 9 + [0.5],
        base_load_kw=1.0,
        base_load_p90_kw=9.0,
        load_spread_cover=1.0,
        import_limit_kw=6.0,
    )
    assert problem.base_load == pytest.approx([1.0] * 9 + [6.0])


def test_off_the_plan_is_the_plan_on_the_expected_load(hourly_grid: TimeGrid) -> None:
    plain = optimise(_problem(hourly_grid))
    given_p90 = optimise(_problem(hourly_grid, base_load_p90_kw=P90_KW, load_spread_cover=0.0))
    assert given_p90.totals.objective_gbp == plain.totals.objective_gbp
    assert given_p90.schedule.equals(plain.schedule)


@pytest.mark.parametrize(
    ("spread", "field", "words"),
    [
        (
            {"base_load_p90_kw": [0.4, *P90_KW[1:]], "load_spread_cover": 0.5},
            "base_load_p90_kw",
            "0.4 kW at slot 0 is below the expected load (0.5 kW)",
        ),
        (
            {"base_load_p90_kw": [math.nan, *P90_KW[1:]], "load_spread_cover": 0.5},
            "base_load_p90_kw",
            "missing or infinite value at slot 0",
        ),
        ({"load_spread_cover": 0.5}, "base_load_p90_kw", "needed when load_spread_cover"),
        ({"base_load_p90_kw": P90_KW, "load_spread_cover": 1.5}, "load_spread_cover", "at most 1"),
        (
            {"base_load_p90_kw": P90_KW[:5], "load_spread_cover": 0.5},
            "base_load_p90_kw",
            "has 5 values but the grid has 10",
        ),
    ],
)
def test_bad_quantiles_or_cover_are_refused_naming_the_field(
    hourly_grid: TimeGrid, spread: dict[str, object], field: str, words: str
) -> None:
    with pytest.raises(ProblemError, match=field) as caught:
        _problem(hourly_grid, **spread)
    assert words in str(caught.value)
