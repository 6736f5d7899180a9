"""The planner's inputs at a re-plan use nothing after the re-plan time (no look-ahead)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from forecasts.prices import agile_published_until
from forecasts.pv import nowcast_correction
from hems.backtest import forecast_market
from hems.backtest.data import DataGapError
from hems.backtest.forecast_market import HistoricalForecast
from hems.backtest.home_data import HomeData
from hems.backtest.markets import WithActualColumns
from hems.demo import demo_home_spec
from hems.market import BASE_LOAD_P90, ReplayedMarket
from optimiser import TimeGrid
from tests.hems.backtest.synthetic import START, home_data


def _doctored(data: HomeData, after: datetime, *, prices_after: datetime) -> HomeData:
    """Every value known only after ``after`` (prices: published after ``prices_after``) made
    wildly different; the carbon forecast column beyond the API's 48 hours too."""

    def scramble(s: pd.Series, cut: datetime) -> pd.Series:
        out = s.copy()
        late = out.index >= pd.Timestamp(cut)
        out[late] = out[late] * 7.0 + 3.0
        return out

    carbon = data.carbon.copy()
    carbon.iloc[:, 0] = scramble(carbon.iloc[:, 0], after)
    carbon.iloc[:, 1] = scramble(carbon.iloc[:, 1], after + timedelta(hours=48))
    return replace(
        data,
        import_price_gbp_per_kwh=scramble(data.import_price_gbp_per_kwh, prices_after),
        carbon=carbon,
        base_load_kwh=scramble(data.base_load_kwh, after),
        pv_kw_per_kwp=scramble(data.pv_kw_per_kwp, after),
        outdoor_temperature_c=scramble(data.outdoor_temperature_c, after),
        actuals=data.actuals * 5.0,
    )


@pytest.mark.parametrize("hour", [10, 17])  # before and after Agile's 16:00 publication
def test_nothing_after_the_replan_leaks_into_the_plan_inputs(hour: int) -> None:
    data = home_data()
    issued = START + timedelta(days=1, hours=hour)
    grid = TimeGrid.starting_at(issued, step_minutes=30, horizon_hours=48)
    published = agile_published_until(issued)
    honest = HistoricalForecast(data, temperature="persistence").series(grid)
    doctored = HistoricalForecast(
        _doctored(data, issued, prices_after=published), temperature="persistence"
    ).series(grid)
    pd.testing.assert_frame_equal(honest, doctored)
    # published prices are taken exactly; later ones are a forecast, not the truth
    price = honest["import_price_gbp_per_kwh"]
    truth = data.import_price_gbp_per_kwh.reindex(grid.index)
    known = grid.index < pd.Timestamp(published)
    assert np.allclose(price[known], truth[known])
    assert not np.allclose(price[~known], truth[~known])
    # carbon: the file's forecast column for the next 48 h
    assert np.allclose(
        honest["carbon_intensity_g_per_kwh"], data.carbon.iloc[:, 1].reindex(grid.index)
    )


def test_the_past_does_change_the_plan_inputs() -> None:
    """The check above can fail: scrambling what *was* known changes the forecast."""
    data = home_data()
    issued = START + timedelta(days=1, hours=10)
    grid = TimeGrid.starting_at(issued, step_minutes=30, horizon_hours=48)
    honest = HistoricalForecast(data, temperature="persistence").series(grid)
    early = issued - timedelta(days=10)
    doctored = HistoricalForecast(
        _doctored(data, early, prices_after=early), temperature="persistence"
    ).series(grid)
    for column in (
        "import_price_gbp_per_kwh",
        "base_load_kw",
        BASE_LOAD_P90,
        "outdoor_temperature_c",
    ):
        assert not np.allclose(honest[column], doctored[column]), column


def test_the_load_comes_with_its_p90_and_a_perfect_load_forecast_with_none() -> None:
    data = home_data()
    issued = START + timedelta(days=1, hours=10)
    grid = TimeGrid.starting_at(issued, step_minutes=30, horizon_hours=48)
    source = HistoricalForecast(data, temperature="persistence")
    forecast = source.series(grid)
    assert (forecast[BASE_LOAD_P90] >= forecast["base_load_kw"]).all()
    assert (forecast[BASE_LOAD_P90] > forecast["base_load_kw"]).any()
    actual = ReplayedMarket(data.actuals)
    perfect = WithActualColumns(source, actual, ("base_load_kw",)).series(grid, demo_home_spec())
    assert np.allclose(perfect[BASE_LOAD_P90], perfect["base_load_kw"])


def test_weather_temperature_is_the_actual_plus_an_error_growing_with_lead() -> None:
    data = home_data()
    errors = []
    for k in range(40):
        issued = START + timedelta(hours=k)
        grid = TimeGrid.starting_at(issued, step_minutes=30, horizon_hours=48)
        forecast = HistoricalForecast(data, temperature="weather", seed=3).series(grid)
        actual = data.outdoor_temperature_c.reindex(grid.index)
        errors.append((forecast["outdoor_temperature_c"] - actual).to_numpy())
    spread = np.std(np.array(errors), axis=0)
    assert spread[:4].mean() < spread[-8:].mean()
    assert 0.2 < spread[0] < 1.5
    assert 1.5 < spread[-8:].mean() < 4.5


def _pv_weather(data: HomeData, issued: datetime, **kwargs) -> tuple[np.ndarray, np.ndarray]:
    grid = TimeGrid.starting_at(issued, step_minutes=30, horizon_hours=36)
    forecast = HistoricalForecast(data, pv="weather", seed=3, **kwargs).series(grid)
    actual = data.pv_kw_per_kwp.reindex(grid.index).to_numpy()
    return forecast["pv_kw_per_kwp"].to_numpy(), actual


def test_weather_pv_without_error_is_the_actual_output() -> None:
    data = home_data()
    issued = START + timedelta(days=2, hours=5)
    forecast, actual = _pv_weather(data, issued, pv_error=(0.0, 0.0))
    np.testing.assert_allclose(forecast, actual, atol=1e-9)
    # a 15-minute grid takes each half hour's mean in both its slots, as the replay does
    grid = TimeGrid.starting_at(issued, step_minutes=15, horizon_hours=36)
    quarter = HistoricalForecast(data, pv="weather", pv_error=(0.0, 0.0)).series(grid)
    halves = data.pv_kw_per_kwp.reindex(grid.index.floor("30min")).to_numpy()
    np.testing.assert_allclose(quarter["pv_kw_per_kwp"].to_numpy(), halves, atol=1e-9)


def test_weather_pv_errors_grow_with_lead_and_belong_to_the_weather_run() -> None:
    data = home_data()
    day = START + timedelta(days=2)
    # 10:00 and 11:30 UTC both use the 06:00 run (runs every 6 h, usable 4 h later): the
    # slots they share are forecast alike (before the meter's nowcast, which differs by issue
    # time); 16:00 uses the 12:00 run, which differs
    at_10, _ = _pv_weather(data, day + timedelta(hours=10), pv_nowcast=False)
    at_11, _ = _pv_weather(data, day + timedelta(hours=11, minutes=30), pv_nowcast=False)
    at_16, _ = _pv_weather(data, day + timedelta(hours=16), pv_nowcast=False)
    np.testing.assert_allclose(at_10[3:], at_11[:-3])
    shared = slice(12, 24)  # 16:00-22:00 from 10:00's grid, 16:00's first 12 slots
    assert not np.allclose(at_10[shared], at_16[:12])
    errors = []
    for k in range(60):
        forecast, actual = _pv_weather(data, day + timedelta(hours=k))
        errors.append(forecast - actual)
    spread = np.std(np.array(errors), axis=0)
    daylight = np.array(errors).any(axis=0)
    assert daylight.any()
    assert spread[:12].mean() < spread[-24:].mean()


def test_the_meters_nowcast_cuts_the_weather_pv_forecasts_error_in_the_next_hours() -> None:
    """What the meter saw the weather run get wrong over the last 1.5 h corrects the next
    hours (the run's error persists); a day ahead the run's forecast stands."""
    data = home_data(days=4)
    day = START + timedelta(days=1)
    near_raw, near_now, far_gap = [], [], []
    for k in range(72):
        issued = day + timedelta(hours=k)
        raw, actual = _pv_weather(data, issued, pv_nowcast=False)
        now, _ = _pv_weather(data, issued)
        near_raw.append(np.abs(raw[:4] - actual[:4]))  # the next two hours
        near_now.append(np.abs(now[:4] - actual[:4]))
        far_gap.append(np.abs(now[24:] - raw[24:]))  # 12 h ahead and beyond
    assert np.sum(near_raw) > 0.0
    assert np.sum(near_now) < 0.9 * np.sum(near_raw)
    assert np.max(far_gap) < 0.01


@pytest.mark.parametrize(("step", "minute"), [(30, 0), (15, 15)])
def test_the_pv_nowcast_reads_only_the_meter_before_the_replan(
    step: int, minute: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run's forecast reads the actual output by design (it stands in for the weather);
    the nowcast's correction must not: doctoring the meter from the first half hour not ended
    at the re-plan on (10:30 at 11:15 on a 15-minute grid) leaves the correction unchanged."""
    ratios: list[np.ndarray] = []

    def recorded(*args: object, **kwargs: object) -> np.ndarray:
        out = nowcast_correction(*args, **kwargs)  # type: ignore[arg-type]
        ratios.append(out)
        return out

    monkeypatch.setattr(forecast_market, "nowcast_correction", recorded)
    data = home_data()
    issued = START + timedelta(days=2, hours=11, minutes=minute)
    unfinished = issued - timedelta(minutes=minute % 30)  # that half hour's start
    doctored = _doctored(data, unfinished, prices_after=issued)
    grid = TimeGrid.starting_at(issued, step_minutes=step, horizon_hours=36)
    for d in (data, doctored):
        HistoricalForecast(d, pv="weather", seed=3).series(grid)
    np.testing.assert_allclose(ratios[0], ratios[1])
    assert not np.allclose(ratios[0], 1.0)


def test_a_forecast_without_history_is_a_clear_error_not_a_gap_in_the_plan() -> None:
    # At the data's very first slot nothing is known to forecast the prices past Agile's
    # publication from: say so, instead of handing the planner a missing price.
    data = home_data(history_days=0)
    grid = TimeGrid.starting_at(START, step_minutes=30, horizon_hours=24)  # to 23:30: unknown
    with pytest.raises(DataGapError, match=r"import_price_gbp_per_kwh.*no history"):
        HistoricalForecast(data, temperature="persistence").series(grid)
