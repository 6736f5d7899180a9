"""Prices, carbon intensity and outdoor temperature: known part exactly, pattern beyond, and
never a look at what was not known at the issue time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from forecasts.carbon import forecast_carbon_intensity
from forecasts.heat import forecast_outdoor_temperature, solar_gain_kw
from forecasts.prices import agile_published_until, forecast_prices
from optimiser import TimeGrid

UK = "Europe/London"


def daily_prices(first_day: str, days: int) -> pd.Series:
    """0.10 GBP/kWh, 0.30 from 16:00 to 19:00 UK time, plus 0.001 x day number."""
    index = pd.date_range(pd.Timestamp(first_day, tz=UK), periods=48 * days, freq="30min")
    local = index.tz_convert(UK)
    peak = (local.hour >= 16) & (local.hour < 19)
    day_number = np.arange(len(index)) // 48
    values = np.where(peak, 0.30, 0.10) + 0.001 * day_number
    return pd.Series(values, index=index.tz_convert("UTC"), name="import_price_gbp_per_kwh")


def test_agile_publication_horizon():
    morning = datetime(2026, 1, 15, 10, tzinfo=UTC)
    evening = datetime(2026, 1, 15, 16, 30, tzinfo=UTC)
    summer_evening = datetime(2026, 7, 15, 15, 30, tzinfo=UTC)  # 16:30 BST
    assert agile_published_until(morning) == datetime(2026, 1, 15, 23, tzinfo=UTC)
    assert agile_published_until(evening) == datetime(2026, 1, 16, 23, tzinfo=UTC)
    assert agile_published_until(summer_evening) == datetime(2026, 7, 16, 22, tzinfo=UTC)


def test_published_prices_are_exact_and_the_rest_is_a_flagged_pattern():
    history = daily_prices("2026-01-01", 20)  # holds "future" prices too, as a backtest would
    issued = datetime(2026, 1, 15, 10, tzinfo=UTC)
    grid = TimeGrid.starting_at(issued, horizon_hours=48)
    forecast = forecast_prices(history, grid, issued)
    published = forecast.series.index < pd.Timestamp("2026-01-15 23:00", tz="UTC")
    assert not forecast.is_forecast[published].any()
    assert forecast.is_forecast[~published].all()
    np.testing.assert_allclose(
        forecast.series[published], history.reindex(forecast.series.index)[published]
    )
    # beyond: the median of the same slot on the last 7 published days (15th back to the 9th:
    # day number 11's level), the evening peak kept
    future = forecast.series[~published]
    future = future[future.index.tz_convert(UK).day == 16]
    local_hour = future.index.tz_convert(UK).hour
    assert future[(local_hour >= 16) & (local_hour < 19)].to_numpy() == pytest.approx(0.311)
    assert future[local_hour == 3].to_numpy() == pytest.approx(0.111)


def test_prices_after_the_publication_horizon_are_never_used():
    history = daily_prices("2026-01-01", 20)
    issued = datetime(2026, 1, 15, 10, tzinfo=UTC)
    grid = TimeGrid.starting_at(issued, horizon_hours=48)
    doctored = history.copy()
    doctored[doctored.index >= pd.Timestamp("2026-01-15 23:00", tz="UTC")] = 9.99
    a = forecast_prices(history, grid, issued).series
    b = forecast_prices(doctored, grid, issued).series
    pd.testing.assert_series_equal(a, b)


def test_carbon_uses_the_api_forecast_then_the_pattern_of_actuals():
    issued = datetime(2026, 1, 15, 16, tzinfo=UTC)
    grid = TimeGrid.starting_at(issued, horizon_hours=72)
    index = pd.date_range("2026-01-01", "2026-01-15 15:30", freq="30min", tz="UTC")
    actuals = pd.Series(200.0 + 50 * (index.hour >= 17), index=index)
    api = pd.Series(150.0, index=grid.index[:96])
    forecast = forecast_carbon_intensity(api, actuals, grid, issued)
    assert forecast.series.name == "carbon_intensity_g_per_kwh"
    assert (forecast.series.iloc[:96] == 150.0).all()
    assert not forecast.is_forecast.iloc[:96].any()
    beyond = forecast.series.iloc[96:]
    assert set(beyond.round(6)) == {200.0, 250.0}
    # actuals measured after the issue time change nothing
    later = pd.Series(999.0, index=pd.date_range(issued, periods=200, freq="30min"))
    again = forecast_carbon_intensity(api, pd.concat([actuals, later]), grid, issued)
    pd.testing.assert_series_equal(forecast.series, again.series)


def test_temperature_forecast_then_its_shape_then_observations_then_default():
    grid = TimeGrid.for_local_day(date(2026, 1, 16))
    issued = datetime(2026, 1, 15, 18, tzinfo=UTC)
    forecast_index = pd.date_range("2026-01-15 00:00", "2026-01-16 11:30", freq="30min", tz="UTC")
    weather = pd.Series(5.0 + np.sin(np.arange(len(forecast_index)) / 10), index=forecast_index)
    result = forecast_outdoor_temperature(weather, None, grid, issued)
    assert result.series.name == "outdoor_temperature_c"
    np.testing.assert_allclose(result.series.iloc[:24], weather.iloc[48:72])
    assert not result.is_forecast.iloc[:24].any()
    # afternoon of the 16th beyond the forecast: the same slots a day earlier
    np.testing.assert_allclose(result.series.iloc[24:], weather.iloc[24:48])
    assert result.is_forecast.iloc[24:].all()
    nothing = forecast_outdoor_temperature(None, None, grid, issued, default_c=8.0)
    assert (nothing.series == 8.0).all()


def test_observed_temperature_fills_in_without_look_ahead():
    grid = TimeGrid.for_local_day(date(2026, 1, 16))
    issued = datetime(2026, 1, 15, 18, tzinfo=UTC)
    hours = pd.date_range("2026-01-13", "2026-01-17", freq="60min", tz="UTC")
    observed = pd.Series(np.arange(len(hours), dtype=float), index=hours)
    result = forecast_outdoor_temperature(None, observed, grid, issued)
    # 00:00 on the 16th takes 00:00 on the 15th (known), never the 16th itself
    assert result.series.iloc[0] == observed[pd.Timestamp("2026-01-15 00:00", tz="UTC")]
    # 20:00 is not yet observed on the 15th at 18:00: two days back
    assert result.series.iloc[40] == observed[pd.Timestamp("2026-01-14 20:00", tz="UTC")]


def test_solar_gains_scale_with_irradiance():
    ghi = pd.Series([0.0, 500.0, np.nan, -3.0])
    gains = solar_gain_kw(ghi, aperture_m2=4.0)
    assert gains.name == "solar_gain_kw"
    assert gains.tolist() == pytest.approx([0.0, 1.2, 0.0, 0.0])


def test_spring_clock_change_grids_get_values_everywhere():
    grid = TimeGrid.for_local_day(date(2026, 3, 29))
    history = daily_prices("2026-03-15", 13)
    issued = datetime(2026, 3, 28, 10, tzinfo=UTC)
    forecast = forecast_prices(history, grid, issued)
    assert forecast.series.notna().all()
    assert len(forecast.series) == 46
    peak = forecast.series.index.tz_convert(UK).hour.isin([16, 17, 18])
    assert (forecast.series[peak] > 0.3).all()
    assert issued + timedelta(days=1) > grid.start_utc


def test_an_hourly_temperature_forecast_is_interpolated_onto_half_hours():
    grid = TimeGrid(start_utc=datetime(2026, 1, 16, tzinfo=UTC), n_steps=8)
    hourly = pd.Series(
        [0.0, 2.0, 4.0, 6.0], index=pd.date_range("2026-01-16", periods=4, freq="h", tz="UTC")
    )
    result = forecast_outdoor_temperature(hourly, None, grid, datetime(2026, 1, 15, tzinfo=UTC))
    np.testing.assert_allclose(result.series.iloc[:7], [0, 1, 2, 3, 4, 5, 6])
    assert not result.is_forecast.iloc[:7].any()
    assert result.is_forecast.iloc[7]  # 03:30 is past the forecast's end
